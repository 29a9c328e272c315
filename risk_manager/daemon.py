"""The daemon's lifecycle, readable top to bottom: start-up → serve → shutdown.

Start-up order follows the service brief: config → logging → state → broker → reconcile →
handlers → API → PID file → "Daemon started". A broker that cannot be reached (no network yet
at boot, the gateway down, a refused login) does not stop the start: the API comes up without
it and the connection is retried with backoff, so health and alerts say why nothing is
enforced instead of a supervisor restarting a crash loop. The daemon owns the signals; uvicorn
runs as a task inside our loop and never installs handlers of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import psutil
from loguru import logger

from risk_manager import logs
from risk_manager.alert_watch import AlertWatch, watch_loop
from risk_manager.api.app import create_app
from risk_manager.api.listen import ApiServer, api_server, bind, url_host
from risk_manager.assembly import assemble
from risk_manager.broker_link import connect_with_retry, reconcile_with_retry
from risk_manager.brokers import registry as brokers
from risk_manager.brokers.base import (
    BrokerError,
    Driver,
    EventSink,
)
from risk_manager.config import ConfigError, load_config
from risk_manager.config.models import LogConfig
from risk_manager.config.validate import emptiness
from risk_manager.domain.events import ConnectionChange, OrderUpdate
from risk_manager.enforcement.executor import Batch
from risk_manager.enforcement.journal import pending_batches
from risk_manager.event_tap import EventRecorder
from risk_manager.exit_codes import EXIT_CONFIG, EXIT_OK, EXIT_START, EXIT_UNEXPECTED, StartupError
from risk_manager.home_files import ensure_config, lock_home, write_marker
from risk_manager.paths import HomePaths
from risk_manager.reconcile import reconcile
from risk_manager.runtime import Runtime
from risk_manager.service.watchdog import LoopWatchdog, sd_notify
from risk_manager.state import backup
from risk_manager.stop_signals import install_stop_handlers

SHUTDOWN_BUDGET_SECONDS = 25.0  # NSSM / systemd give us 30 s before they terminate
BIND_RETRY_MAX_SECONDS = 60.0
CHORES_MIN_SECONDS = 0.5  # below the tick's 1 s, so a live daemon still does them every tick


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

    def __init__(
        self, home: Path, config_path: Path | None = None, port: int | None = None,
        *, allow_empty: bool = False,
    ) -> None:  # fmt: skip
        self.paths = HomePaths(home)
        self.config_path = config_path
        self.port_override = port
        self.allow_empty = allow_empty
        self.runtime: Runtime | None = None
        self.watchdog: LoopWatchdog | None = None
        self._home_lock: IO[str] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._api_ready = asyncio.Event()
        self._connect_failed = asyncio.Event()
        self._online: asyncio.Task[None] | None = None
        self._alert_watch: AlertWatch | None = None
        self._log_settings: LogConfig | None = None
        self._recorder: EventRecorder | None = None
        self._backups: backup.BackupSchedule

    async def run(self) -> int:
        """Start, serve until a stop is requested, shut down; returns the exit code."""
        try:
            server, sock = await self._startup()
            await self._first_connection()
        except ConfigError as error:
            return self._cannot_start(f"invalid configuration in {error}", EXIT_CONFIG)
        except StartupError as error:
            return self._cannot_start(str(error), error.exit_code)
        except OSError as error:
            # Typically the home: not writable, disk full, a directory where a file belongs.
            where = f"{error.filename}: " if error.filename else ""
            return self._cannot_start(f"{where}{error.strerror or error}", EXIT_START)
        except Exception as error:
            logger.opt(exception=error).critical("Unexpected error during start-up")
            return self._cannot_start(f"unexpected error: {error!r}", EXIT_UNEXPECTED)
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
        write_marker(self.paths.pid_file, str(os.getpid()))
        logger.info("Daemon started (PID {})", os.getpid())
        sd_notify("READY=1")
        self._announce(runtime)
        await runtime.stop_requested.wait()
        return await self._shutdown(server, serve)

    async def _serve_api(self, server: ApiServer, sock: socket.socket | None) -> None:
        """Serve the API; when its port was taken at start, keep trying to bind it."""
        if sock is None:
            sock = await self._bind_with_backoff()
        serving = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn")
        while not server.started:
            if serving.done():
                return await serving
            await asyncio.sleep(0.005)
        url = f"http://{url_host(sock)}:{sock.getsockname()[1]}"
        write_marker(self.paths.url_file, url)
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
                sock = bind(host, port)
            except StartupError:
                delay = min(delay * 2, BIND_RETRY_MAX_SECONDS)
                continue
            runtime.bus.alert("api_bound", "info", f"The API now listens on {host}:{port}")
            return sock

    def _cannot_start(self, message: str, code: int) -> int:
        """One line on stderr (and in the log once it is configured); returns the exit code."""
        if self._log_settings is not None:
            logger.error("Cannot start: {}", message)
        if self._log_settings is None or not self._log_settings.console:
            print(f"risk-manager: cannot start: {message}", file=sys.stderr)
        return code

    def _announce(self, runtime: Runtime) -> None:
        """Critical alerts about how this run started (enforcing nothing, restored state)."""
        if reason := emptiness(runtime.config):
            runtime.critical("config_empty", f"Started with --allow-empty: {reason}")
        if restored := runtime.state_restored:
            runtime.critical(
                "state_restored",
                f"The state database was {restored.problem}: restored the backup "
                f"{restored.backup} (the unusable files are in {restored.moved_to}); "
                "lockouts and rule state newer than the backup are lost, positions and orders "
                "were reconciled with the broker",
            )

    async def _startup(self) -> tuple[ApiServer, socket.socket | None]:
        self.paths.ensure()
        config_file = ensure_config(self.paths, self.config_path)
        brokers.load_plugins()  # before the config: it may name a plugin's broker kind
        config = load_config(config_file, allow_empty=self.allow_empty)
        if self.port_override is not None:
            config = config.model_copy(
                update={"daemon": config.daemon.model_copy(update={"port": self.port_override})}
            )
        logs.configure(self.paths.logs_dir, config.daemon.log)
        self._log_settings = config.daemon.log
        # Before any state is touched: a second daemon on this home stops here.
        self._home_lock = lock_home(self.paths)
        try:
            sock: socket.socket | None = bind(config.daemon.host, config.daemon.port)
            bind_error = None
        except StartupError as error:
            # Anyone can take the port before the service starts: enforce anyway, retry it.
            sock, bind_error = None, error
        crashed = self.paths.running_marker.exists()
        if crashed:
            logger.critical("The previous run did not stop cleanly (crash or kill); recovering")
        write_marker(self.paths.running_marker, str(os.getpid()))
        restored = backup.prepare(
            self.paths.database, self.paths.backups_dir, self.paths.history_marker,
            datetime.now(UTC),
        )  # fmt: skip
        runtime, self._alert_watch = assemble(config, config_file, self.paths, crashed)
        self.runtime = runtime
        with contextlib.suppress(OSError):  # a full disk: the database itself shows history
            self.paths.history_marker.touch()  # from now on this home's state is never new
        runtime.state_restored = restored
        self._backups = backup.BackupSchedule(
            self.paths.database, self.paths.backups_dir,
            config.daemon.backup_interval_seconds, config.daemon.backup_generations,
        )  # fmt: skip
        if bind_error is not None:
            message = f"{bind_error}; enforcing without the API and retrying the bind"
            logger.critical(message)  # also reaches the Windows Event Log (logs.configure)
            runtime.bus.alert("api_bind_failed", "critical", message)
        install_stop_handlers(runtime)
        if runtime.notifier is not None:
            runtime.notifier.start()  # before the broker: its alerts must go out meanwhile
        server = api_server(create_app(runtime), config.daemon)
        return server, sock

    async def _first_connection(self) -> None:
        """Bring the pipeline online; return early (it keeps trying) if the broker is away."""
        runtime = self.runtime
        assert runtime is not None
        self._online = online = asyncio.create_task(self._bring_online(runtime), name="online")
        failed = asyncio.create_task(self._connect_failed.wait())
        await asyncio.wait({online, failed}, return_when=asyncio.FIRST_COMPLETED)
        failed.cancel()
        if online.done():
            online.result()  # a start-up error surfaces here, as before
        else:
            online.add_done_callback(_exit_if_died)

    async def _bring_online(self, runtime: Runtime) -> None:
        """Connect, finish interrupted enforcement, reconcile, then start the loop's tasks."""
        await connect_with_retry(runtime, self._event_sink(runtime), self._connect_failed.set)
        runtime.pipeline.connected = True
        runtime.executor.recover()  # closing orders a crash left unsettled, before any batch
        self._resume_enforcement(runtime)
        await reconcile_with_retry(runtime, self._connect_failed.set)
        runtime.pipeline.roll_day_if_due(runtime.clock.now())
        self.watchdog = LoopWatchdog(runtime.config.daemon.watchdog_seconds)
        self.watchdog.start()
        assert self._alert_watch is not None  # attached by assemble()
        self._tasks = [
            asyncio.create_task(self._consume(runtime), name="intake"),
            asyncio.create_task(self._housekeeping(runtime), name="housekeeping"),
            asyncio.create_task(self.watchdog.beat(), name="watchdog"),
            asyncio.create_task(watch_loop(self._alert_watch), name="alert-watch"),
        ]
        if isinstance(runtime.broker, Driver):  # a replay plays its recording from here on
            drive = runtime.broker.drive(runtime.settle)
            self._tasks.append(asyncio.create_task(drive, name="broker-drive"))
        for task in self._tasks:
            task.add_done_callback(_exit_if_died)
        psutil.Process().cpu_percent(None)  # prime the CPU meter health reads later

    def _event_sink(self, runtime: Runtime) -> EventSink:
        """The intake, behind a recorder when `[daemon] record_events` names a file."""
        path = runtime.config.daemon.record_events
        if path is None:
            return runtime.intake.put
        self._recorder = EventRecorder(path)
        logger.info("Recording broker events to {}", path)
        return self._recorder.tap(runtime.intake.put)

    def _resume_enforcement(self, runtime: Runtime) -> None:
        """Re-run batches a crash interrupted; each step re-checks the broker before acting."""
        for batch_id, account_id, steps in pending_batches(runtime.store):
            logger.bind(account=account_id).warning(
                "Resuming enforcement batch {} interrupted by the previous run", batch_id
            )
            runtime.executor.submit(Batch(batch_id, account_id, steps))

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
        settings = runtime.config.daemon
        since_snapshot = 0.0
        chores_at = time.monotonic()
        while True:
            # On the daemon's clock: a replay drives the rule tick without really sleeping.
            await runtime.clock.sleep(1.0)
            now = runtime.clock.now()
            runtime.pipeline.roll_day_if_due(now)
            runtime.engine.tick(runtime.pipeline.accounts.values())
            since_snapshot += 1.0
            if since_snapshot >= settings.snapshot_interval_seconds:
                since_snapshot = 0.0
                runtime.pipeline.snapshot()
            # Disk chores go by real time (every tick when live): a replay runs thousands of
            # ticks a second, and a thread hop and a checkpoint each would be most of its time.
            elapsed = time.monotonic() - chores_at
            if elapsed >= CHORES_MIN_SECONDS:
                chores_at += elapsed
                if runtime.storage is not None:
                    runtime.storage.tick(elapsed)  # retries writes a full disk refused
                await asyncio.to_thread(runtime.store.checkpoint)
                if runtime.store.degraded is None:  # a backup would only add to the full disk
                    await self._backups.tick(runtime.pipeline.calendar.day_of(now), elapsed)

    async def _shutdown(self, server: ApiServer, serve: asyncio.Task[None]) -> int:
        runtime = self.runtime
        assert runtime is not None
        logger.info("Daemon stopping")
        sd_notify("STOPPING=1")
        server.should_exit = True
        if self._online is not None and not self._online.done():
            self._online.cancel()  # still waiting for the broker, or reconciling with it
            await asyncio.gather(self._online, return_exceptions=True)
            # Nothing consumes the intake yet: waiting for it to drain would take the whole
            # budget. What it holds was never applied; the next start reconciles it.
            runtime.intake.discard()
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
        if self._recorder is not None:
            self._recorder.close()
        if runtime.notifier is not None:
            await runtime.notifier.close()
        if self.watchdog is not None:
            self.watchdog.stop()
        runtime.pipeline.snapshot()
        runtime.store.close()
        self._backups.take()  # a generation at every clean stop
        for path in (self.paths.pid_file, self.paths.url_file, self.paths.running_marker):
            with contextlib.suppress(OSError):  # a read-only file system keeps them
                path.unlink(missing_ok=True)
        logger.info("Daemon stopped cleanly")
        return EXIT_OK
