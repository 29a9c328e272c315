"""A scripted trading session through the real daemon; a loopback receiver reads the phone."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from cli.exit_codes import ExitCode
from risk_manager.auth.passwords import hash_password, save_secret
from tests.cli.conftest import run_cli
from tests.daemon_process import DaemonProcess
from tests.notify.conftest import DISCORD_PATH, TELEGRAM_TOKEN, notify_config
from tests.notify.receiver import Receiver, Recorded, Reply

PASSWORD = "Correct-Horse-42"
AUTH = {"RISK_MANAGER_ADMIN_PASSWORD": PASSWORD}


def kinds(receiver: Receiver, path: str = "/hook") -> list[str]:
    return [r.json["kind"] for r in receiver.delivered() if r.path == path]


def has(receiver: Receiver, kind: str, path: str = "/hook") -> Callable[[object], bool]:
    return lambda _: kind in kinds(receiver, path)


def test_session_warning_breach_lockout_unlock_crash_reach_the_receiver(
    start_daemon: Callable[..., DaemonProcess], receiver: Receiver, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with Receiver(Reply(400, {"ok": False, "description": f"bot{TELEGRAM_TOKEN} refused"})) as tg:
        notify_config(home, "daily_realized_loss.limit = 100", {
            "hook": ("webhook", f"{receiver.url}/hook"),
            "discord": ("discord", f"{receiver.url}{DISCORD_PATH}"),
            "phone": ("telegram", "") ,
        })  # fmt: skip
        (home / "secrets" / "phone.url").write_text(TELEGRAM_TOKEN)
        config = home / "config" / "risk_manager.toml"
        config.write_text(config.read_text() + f'telegram_api = "{tg.url}"\n')
        save_secret(home / "secrets" / "admin.json", hash_password(PASSWORD))
        daemon = start_daemon(home=home)

        daemon.price(21000.00)
        daemon.order("buy", 2)
        daemon.price(20978.00)
        daemon.order("sell", 2)  # -$89.48: 89 % of the $100 limit
        daemon.order("buy", 1)  # no pause: the warning must not wait for the next watch pass
        daemon.price(20960.00)
        daemon.order("sell", 1)  # past the limit: flattened (nothing left) and locked out
        receiver.wait_for(has(receiver, "enforcement"), what="the enforcement")
        warned_first = kinds(receiver).index("loss_warning") < kinds(receiver).index("enforcement")
        receiver.wait_for(has(receiver, "lockout"), what="the lockout")
        unlocked = run_cli("admin", "unlock", "SIM-1", "--url", daemon.url, home=home, env=AUTH)
        assert unlocked.code == 0, unlocked.stderr
        receiver.wait_for(has(receiver, "lockout_ended"), what="the lockout end")
        receiver.wait_for(has(receiver, "admin"), what="the admin unlock")
        wrong = {"RISK_MANAGER_ADMIN_PASSWORD": "Wrong-Horse-42"}
        for _ in range(4):  # the first three failures are free
            run_cli("admin", "reset-day", "--yes", "--url", daemon.url, home=home, env=wrong)
        receiver.wait_for(has(receiver, "admin_auth_penalty"), what="the admin-auth penalty")
        health = daemon.get("/api/v1/health")["notifications"]
        doctor = run_cli("admin", "doctor", "--json", "--url", daemon.url, home=home, env=AUTH)
        daemon.kill9()
        again = start_daemon(home=home)
        receiver.wait_for(has(receiver, "crash_recovered"), what="the crash recovery")
        tested = run_cli("admin", "notify", "test", "--channel", "hook", "--json",
                         "--url", again.url, home=home, env=AUTH)  # fmt: skip
        again.stop()
        telegram_calls = list(tg.requests)

    hook = {r.json["kind"]: r.json for r in receiver.delivered() if r.path == "/hook"}
    first = hook["loss_warning"]
    assert warned_first
    assert first["severity"] == "warning"
    assert first["account_id"] == "SIM-1"
    assert "Daily realized loss -$89.48 is 89 % of the -$100.00 limit" in first["text"]
    enforced = hook["enforcement"]
    assert enforced["title"] == "Enforced daily_realized_loss — SIM-1 (Test account)"
    assert "limit $100.00" in enforced["text"]
    assert "Outcome: flatten" in enforced["text"]
    assert "until 17:00 C" in hook["lockout"]["title"]  # CST or CDT: the trading-day zone
    assert hook["lockout_ended"]["title"].startswith("Lockout by daily_realized_loss ended (admin)")
    assert hook["admin"]["title"] == "Admin unlock — SIM-1 (Test account)"
    assert hook["crash_recovered"]["severity"] == "critical"
    assert hook["admin_auth_penalty"]["severity"] == "critical"
    assert "after 4 consecutive failed logins" in hook["admin_auth_penalty"]["text"]
    assert tested.code == 0, tested.stderr
    assert json.loads(tested.stdout)["hook"]["status"] == 200
    assert kinds(receiver)[-1] == "test"
    # Discord got the same story as embeds; Telegram was refused every time and gave up.
    embeds = [r.json["embeds"][0] for r in receiver.delivered() if r.path == DISCORD_PATH]
    assert {e["color"] for e in embeds} >= {0xF39C12, 0xE74C3C}
    assert telegram_calls
    assert all(r.path == f"/bot{TELEGRAM_TOKEN}/sendMessage" for r in telegram_calls)
    assert health["phone"]["failures"] >= 1
    assert "[secret]" in health["phone"]["last_error"]
    checks = {c["check"]: c for c in json.loads(doctor.stdout)}
    assert checks["notifications: hook"]["ok"] is True
    assert checks["notifications: phone"]["ok"] is False
    assert "HTTP 400" in checks["notifications: phone"]["detail"]
    assert doctor.code != 0  # a failing channel fails the checklist
    # The secrets were used on the wire but never written anywhere a person can read.
    written = daemon.output() + again.output() + doctor.stdout
    written += "".join(p.read_text(errors="replace") for p in (home / "logs").glob("*.log"))
    assert "refused" in written  # the receiver's error text did reach the logs …
    for secret in (TELEGRAM_TOKEN, DISCORD_PATH, "discord-secret-token"):
        assert secret not in written  # … with the secret cut out


def test_a_burst_folds_into_one_summary_and_notify_test_reports_a_failing_channel(
    start_daemon: Callable[..., DaemonProcess], receiver: Receiver, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    refusal = {"ok": False, "error_code": 401, "description": "Unauthorized"}
    with Receiver(Reply(401, refusal)) as tg:
        notify_config(home, "max_contracts.limit = 1", {
            "paced": ("webhook", f"{receiver.url}/paced"),
            "phone": ("telegram", TELEGRAM_TOKEN),
        }, extra="rate_limit = 2\nrate_window_seconds = 5\n")  # fmt: skip
        config = home / "config" / "risk_manager.toml"
        config.write_text(config.read_text() + f'telegram_api = "{tg.url}"\n')
        save_secret(home / "secrets" / "admin.json", hash_password(PASSWORD))
        daemon = start_daemon(home=home)
        daemon.price(21000.00)
        daemon.order("buy", 1)
        for _ in range(6):  # each one over the limit: six enforcements in a row
            daemon.order("buy", 1)

        def accounted(got: list[Recorded]) -> int:
            titles = [r.json["title"] for r in got]
            held = [int(t.split()[0]) for t in titles if t.endswith("held back by the rate limit")]
            return sum(t.startswith("Enforced max_contracts") for t in titles) + sum(held)

        # The window is 5 s, not a minute: the summary arrives within seconds.
        receiver.wait_for(lambda got: accounted(got) == 6, what="six enforcements")
        deadline = time.monotonic() + 10
        while (health := daemon.get("/api/v1/health")["notifications"]["paced"])["queued"]:
            assert time.monotonic() < deadline, health  # the last answer may still be read
            time.sleep(0.05)
        failed = run_cli("admin", "notify", "test", "--url", daemon.url, home=home, env=AUTH)
        alone = run_cli("admin", "notify", "test", "--channel", "paced", "--url", daemon.url,
                        home=home, env=AUTH)  # fmt: skip

    titles = [r.json["title"] for r in receiver.delivered() if r.json["kind"] != "test"]
    summaries = [t for t in titles if "held back" in t]
    assert len(summaries) == 1, titles
    assert titles.index(summaries[0]) == 2  # two sent at once, the rest folded
    assert (health["sent"], health["summaries"]) == (3, 1)
    assert failed.code == ExitCode.FAILED, failed.stdout
    assert "notify test failed for: phone" in failed.stderr
    phone = next(line for line in failed.stdout.splitlines() if "phone" in line)
    assert all(part in phone for part in ("failed", "401", " ms", "Unauthorized")), phone
    paced = next(line for line in failed.stdout.splitlines() if "paced" in line)
    assert all(part in paced for part in ("ok", "200", " ms")), paced
    assert alone.code == 0, alone.stderr
