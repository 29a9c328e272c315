"""The daemon's lifecycle, readable top to bottom: start-up → serve → shutdown.

Start-up order follows the service brief: config → logging → state → broker → reconcile →
handlers → API → PID file → "Daemon started". The daemon owns the signals; uvicorn runs as a
task inside our loop and never installs handlers of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import IO

import psutil
import uvicorn
from loguru import logger

from risk_manager import logs
from risk_manager.api.app import create_app
from risk_manager.auth import AdminAuth
from risk_manager.brokers import registry as brokers
from risk_manager.brokers.base import BrokerError
from risk_manager.bus import EventBus
from risk_manager.clock import Clock, ShiftableClock
from risk_manager.config import Config, ConfigError, load_config
from risk_manager.domain.events import ConnectionChange, OrderUpdate
from risk_manager.domain.money import ZERO
from risk_manager.enforcement.engine import RiskEngine
from risk_manager.enforcement.executor import Batch, Executor
from risk_manager.enforcement.journal import pending_batches
from risk_manager.notify.watch import AlertWatch
from risk_manager.notify.wiring import attach_notifier, watch_loop
from risk_manager.paths import HomePaths
from risk_manager.pipeline import Pipeline
from risk_manager.reconcile import reconcile
from risk_manager.runtime import Intake, Runtime
from risk_manager.service.watchdog import LoopWatchdog, sd_notify
from risk_manager.service.winconsole import ignore_logoff
from risk_manager.state.ledger import AccountState, DayTotals
from risk_manager.state.store import Store

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_START = 3
SHUTDOWN_BUDGET_SECONDS = 25.0  # NSSM / systemd give us 30 s before they terminate
BIND_RETRY_MAX_SECONDS = 60.0


class StartupError(Exception):
    """The daemon cannot start; the message says why and what to do."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The daemon handles SIGINT/SIGTERM/SIGBREAK itself and stops uvicorn in order.
        yield


def ensure_config(paths: HomePaths, config_path: Path | None) -> Path:
    """The config file to use; on first run write the commented example into the home."""
    if config_path is not None:
        return config_path
    if not paths.config_file.exists():
        example = resources.files("risk_manager").joinpath("example_config.toml")
        paths.config_file.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
        logger.info("First run: wrote the example configuration to {}", paths.config_file)
    return paths.config_file


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio enables TCP_NODELAY on accepted sockets only when the
    # protocol says TCP, and without it keep-alive responses stall ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if sys.platform == "win32":
        # Windows' SO_REUSEADDR would let another process steal the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    else:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def lock_home(paths: HomePaths) -> IO[str]:
    """Hold an OS lock on the home for the life of the process (released even by kill -9)."""
    handle = (paths.state_dir / "daemon.lock").open("a+")
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        pid = paths.pid_file.read_text().strip() if paths.pid_file.exists() else "?"
        raise StartupError(f"another daemon already uses {paths.home} (PID {pid})") from None
    return handle


def _exit_if_died(task: asyncio.Task[None]) -> None:
    """A core task must never end while the daemon runs: exit so the supervisor restarts us."""
    if task.cancelled() or task.exception() is None:
        return
    logger.opt(exception=task.exception()).critical(
        "Task {} died; exiting so the supervisor restarts the daemon", task.get_name()
    )
    os._exit(1)


class Daemon:
    """One run of the daemon process."""

    def __init__(self, home: Path, config_path: Path | None = None, port: int | None = None):
        self.paths = HomePaths(home)
        self.config_path = config_path
        self.port_override = port
        self.runtime: Runtime | None = None
        self.watchdog: LoopWatchdog | None = None
        self._home_lock: IO[str] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._api_ready = asyncio.Event()
        self._alert_watch: AlertWatch | None = None

    async def run(self) -> int:
        """Start, serve until a stop is requested, shut down; returns the exit code."""
        try:
            server, sock = await self._startup()
        except ConfigError as error:
            print(error.render(), file=sys.stderr)
            return EXIT_CONFIG
        except StartupError as error:
            logger.error("Cannot start: {}", error)
            print(f"error: {error}", file=sys.stderr)
            return EXIT_START
        runtime = self.runtime
        assert runtime is not None
        serve = asyncio.create_task(self._serve_api(server, sock), name="api")
        if sock is not None:
            ready = asyncio.create_task(self._api_ready.wait())
            await asyncio.wait({serve, ready}, return_when=asyncio.FIRST_COMPLETED)
            if not self._api_ready.is_set():
                ready.cancel()
                await serve
                return EXIT_START
        _write_atomic(self.paths.pid_file, str(os.getpid()))
        logger.info("Daemon started (PID {})", os.getpid())
        sd_notify("READY=1")
        await runtime.stop_requested.wait()
        return await self._shutdown(server, serve)

    async def _serve_api(self, server: _Server, sock: socket.socket | None) -> None:
        """Serve the API; when its port was taken at start, keep trying to bind it."""
        if sock is None:
            sock = await self._bind_with_backoff()
        serving = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn")
        while not server.started:
            if serving.done():
                return await serving
            await asyncio.sleep(0.005)
        url = f"http://{_url_host(sock)}:{sock.getsockname()[1]}"
        _write_atomic(self.paths.url_file, url)
        logger.info("API listening on {}", url)
        self._api_ready.set()
        await serving

    async def _bind_with_backoff(self) -> socket.socket:
        runtime = self.runtime
        assert runtime is not None
        host, port = runtime.config.daemon.host, runtime.config.daemon.port
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                sock = _bind(host, port)
            except StartupError:
                delay = min(delay * 2, BIND_RETRY_MAX_SECONDS)
                continue
            runtime.bus.alert("api_bound", "info", f"The API now listens on {host}:{port}")
            return sock

    async def _startup(self) -> tuple[_Server, socket.socket | None]:
        self.paths.ensure()
        config_file = ensure_config(self.paths, self.config_path)
        brokers.load_plugins()  # before the config: it may name a plugin's broker kind
        config = load_config(config_file)
        if self.port_override is not None:
            config = config.model_copy(
                update={"daemon": config.daemon.model_copy(update={"port": self.port_override})}
            )
        logs.configure(self.paths.logs_dir, config.daemon.log)
        # Before any state is touched: a second daemon on this home stops here.
        self._home_lock = lock_home(self.paths)
        try:
            sock: socket.socket | None = _bind(config.daemon.host, config.daemon.port)
            bind_error = None
        except StartupError as error:
            # Anyone can take the port before the service starts: enforce anyway, retry it.
            sock, bind_error = None, error
        crashed = self.paths.running_marker.exists()
        if crashed:
            logger.critical("The previous run did not stop cleanly (crash or kill); recovering")
        self.paths.running_marker.write_text(str(os.getpid()))
        runtime = self.runtime = self._assemble(config, config_file, crashed)
        if bind_error is not None:
            message = f"{bind_error}; enforcing without the API and retrying the bind"
            logger.critical(message)  # also reaches the Windows Event Log (logs.configure)
            runtime.bus.alert("api_bind_failed", "critical", message)
        await self._bring_online(runtime)
        server = _Server(
            uvicorn.Config(
                create_app(runtime),
                log_config=None,
                access_log=False,
                lifespan="off",
                server_header=False,
                date_header=False,
                timeout_graceful_shutdown=2,
            )
        )
        return server, sock

    def _assemble(self, config: Config, config_file: Path, crashed: bool) -> Runtime:
        """Open the store and wire broker, pipeline, engine and executor together."""
        clock = ShiftableClock()  # the simulator's test controls may move it
        store = Store(self.paths.database)
        names = tuple(
            (account_id, a.name or account_id) for account_id, a in config.accounts.items()
        )
        bus = EventBus()

        def broker_alert(kind: str, message: str) -> None:
            bus.alert(kind, "critical", message)

        context = brokers.BrokerContext(names, self.paths, clock, broker_alert)
        broker = brokers.build(config.broker, context)
        calendar = config.trading_day.calendar()
        pipeline = Pipeline(store, calendar, broker.contract_spec, bus)
        executor = Executor(broker, store, clock, bus, ledger=pipeline.signed_positions)
        engine = RiskEngine(store, executor, calendar, broker.contract_spec, clock, bus)
        engine.configure(config)
        pipeline.hooks = engine
        self._load_accounts(config, store, pipeline, clock)
        for account in pipeline.accounts.values():
            engine.load_entries(account)
        auth = AdminAuth.from_file(self.paths.admin_secret, on_penalty=_admin_auth_slowed(bus))
        runtime = Runtime(
            config, config_file, self.paths, clock, store, pipeline, broker, bus, Intake(),
            engine, executor, crashed, auth,
        )  # fmt: skip
        self._alert_watch = attach_notifier(runtime)
        if crashed:
            bus.alert("crash_recovered", "critical", "The previous run did not stop cleanly "
                      "(crash, kill or power loss); restarted and recovering")  # fmt: skip
        return runtime

    async def _bring_online(self, runtime: Runtime) -> None:
        """Connect, finish interrupted enforcement, reconcile, then start the loop's tasks."""
        await runtime.broker.connect(runtime.intake.put)
        runtime.pipeline.connected = True
        self._resume_enforcement(runtime)
        await reconcile(runtime.broker, runtime.pipeline, runtime.clock)
        runtime.pipeline.roll_day_if_due(runtime.clock.now())
        self._install_signal_handlers(runtime)
        self.watchdog = LoopWatchdog(runtime.config.daemon.watchdog_seconds)
        self.watchdog.start()
        assert self._alert_watch is not None  # attached in _assemble
        self._tasks = [
            asyncio.create_task(self._consume(runtime), name="intake"),
            asyncio.create_task(self._housekeeping(runtime), name="housekeeping"),
            asyncio.create_task(self.watchdog.beat(), name="watchdog"),
            asyncio.create_task(watch_loop(self._alert_watch), name="alert-watch"),
        ]
        if runtime.notifier is not None:
            runtime.notifier.start()
        for task in self._tasks:
            task.add_done_callback(_exit_if_died)
        psutil.Process().cpu_percent(None)  # prime the CPU meter health reads later

    def _load_accounts(
        self, config: Config, store: Store, pipeline: Pipeline, clock: Clock
    ) -> None:
        today = pipeline.calendar.day_of(clock.now())
        with store.transaction():
            for account_id, settings in config.accounts.items():
                account = store.load_account(account_id, pipeline.spec_of)
                if account is None:
                    account = AccountState(
                        account_id, settings.name or account_id, ZERO, True, DayTotals(today)
                    )
                    store.save_account(account)
                    store.save_day(account_id, account.day)
                pipeline.add_account(account)

    def _resume_enforcement(self, runtime: Runtime) -> None:
        """Re-run batches a crash interrupted; each step re-checks the broker before acting."""
        for batch_id, account_id, steps in pending_batches(runtime.store.db):
            logger.bind(account=account_id).warning(
                "Resuming enforcement batch {} interrupted by the previous run", batch_id
            )
            runtime.executor.submit(Batch(batch_id, account_id, steps))

    def _install_signal_handlers(self, runtime: Runtime) -> None:
        loop = asyncio.get_running_loop()

        def request_stop(signum: int) -> None:
            if runtime.stop_requested.is_set():
                logger.warning("Second stop signal: exiting now (committed state is safe)")
                os._exit(1)
            logger.info("Received {}; stopping", signal.Signals(signum).name)
            runtime.stop_requested.set()

        if sys.platform == "win32":
            # NSSM stops a console app with Ctrl+C (SIGINT); Ctrl+Break arrives as SIGBREAK.
            # A user logging off must never stop the service's console process.
            ignore_logoff()
            for signum in (signal.SIGINT, signal.SIGBREAK):
                signal.signal(signum, lambda s, _f: loop.call_soon_threadsafe(request_stop, s))
        else:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, request_stop, signum)

    async def _consume(self, runtime: Runtime) -> None:
        pipeline = runtime.pipeline
        queue, handle = runtime.intake.queue, pipeline.handle
        while True:
            event = await queue.get()
            try:
                was_connected = pipeline.connected
                if isinstance(event, OrderUpdate):
                    runtime.executor.observe(event.order)  # it waits on its own orders
                handle(event)
                if isinstance(event, ConnectionChange) and event.connected and not was_connected:
                    # Fills may have happened while the link was down: catch up before the
                    # next live event (reconcile applies them through this same pipeline).
                    await self._reconcile_after_outage(runtime)
            except Exception:
                # State may be half-updated in memory; exit so the supervisor restarts us and
                # the restart rebuilds from the committed store and the broker.
                logger.opt(exception=True).critical("Unexpected error applying {}", event)
                os._exit(1)
            finally:
                queue.task_done()

    async def _reconcile_after_outage(self, runtime: Runtime) -> None:
        try:
            await reconcile(runtime.broker, runtime.pipeline, runtime.clock)
        except BrokerError as error:
            # The link dropped again; its next reconnect will reconcile.
            logger.warning("Reconcile after reconnect failed: {}", error)

    async def _housekeeping(self, runtime: Runtime) -> None:
        interval = runtime.config.daemon.snapshot_interval_seconds
        since_snapshot = 0.0
        while True:
            # On the daemon's clock: a replay drives the rule tick without really sleeping.
            await runtime.clock.sleep(1.0)
            runtime.pipeline.roll_day_if_due(runtime.clock.now())
            runtime.engine.tick(runtime.pipeline.accounts.values())
            since_snapshot += 1.0
            if since_snapshot >= interval:
                since_snapshot = 0.0
                runtime.pipeline.snapshot()
            await asyncio.to_thread(runtime.store.checkpoint)

    async def _shutdown(self, server: _Server, serve: asyncio.Task[None]) -> int:
        runtime = self.runtime
        assert runtime is not None
        logger.info("Daemon stopping")
        sd_notify("STOPPING=1")
        server.should_exit = True
        try:
            async with asyncio.timeout(SHUTDOWN_BUDGET_SECONDS):
                # Drain queued events and finish in-flight enforcement, then stop intake.
                await runtime.settle()
                runtime.intake.open = False
                await runtime.broker.close()
                if not server.started:
                    serve.cancel()  # still waiting to bind its port
                await asyncio.gather(serve, return_exceptions=True)
        except TimeoutError:
            logger.error("Shutdown budget exceeded; stopping with the committed state")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await runtime.executor.close()
        if runtime.notifier is not None:
            await runtime.notifier.close()
        if self.watchdog is not None:
            self.watchdog.stop()
        runtime.pipeline.snapshot()
        runtime.store.close()
        for path in (self.paths.pid_file, self.paths.url_file, self.paths.running_marker):
            path.unlink(missing_ok=True)
        logger.info("Daemon stopped cleanly")
        return EXIT_OK


def _admin_auth_slowed(bus: EventBus) -> Callable[[int, int], None]:
    def slowed(failures: int, seconds: int) -> None:
        # Critical: reaches error.log (and the Windows Event Log) and, as an alert on the bus,
        # the notifications, so a human hears of it.
        message = (
            f"Admin auth slowed after {failures} consecutive failed logins: challenges wait "
            f"{seconds} s (risk-admin auth-reset clears it)"
        )
        logger.critical(message)
        bus.alert(
            "admin_auth_penalty", "critical", message, failures=failures, wait_seconds=seconds
        )

    return slowed


def _url_host(sock: socket.socket) -> str:
    host = sock.getsockname()[0]
    return f"[{host}]" if ":" in host else host
