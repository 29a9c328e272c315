"""Drive the official project-x-py client against a Gateway; run by its own Python >= 3.12.

Not imported by the test suite (it runs in a separate virtual environment). Prints one line
per result, `RESULT <name> <json>` and `EVENT <kind> <json>`, and `READY` once subscribed; it
exits after the events named on the command line have arrived.
"""

import asyncio
import json
import sys

from project_x_py import EventBus, OrderManager, ProjectX, ProjectXConfig
from project_x_py.realtime import ProjectXRealtimeClient


def say(*parts: object) -> None:
    print(*parts, flush=True)


async def main(url: str, username: str, api_key: str, wanted: list[str]) -> None:
    config = ProjectXConfig(
        api_url=f"{url}/api", user_hub_url=f"{url}/hubs/user", market_hub_url=f"{url}/hubs/market"
    )
    async with ProjectX(username, api_key, config=config) as client:
        await client.authenticate()
        account = client.account_info
        say(
            "RESULT account",
            json.dumps({"id": account.id, "name": account.name, "balance": account.balance}),
        )
        accounts = await client.list_accounts()
        say("RESULT accounts", json.dumps(sorted(a.id for a in accounts)))
        positions = await client.search_open_positions()
        say("RESULT positions", json.dumps([[p.contractId, p.type, p.size] for p in positions]))
        orders = await OrderManager(client, EventBus()).search_open_orders()
        say("RESULT orders", json.dumps([[o.id, o.contractId, o.type, o.side] for o in orders]))

        realtime = ProjectXRealtimeClient(client.session_token, str(account.id), config=config)
        seen: dict[str, asyncio.Event] = {kind: asyncio.Event() for kind in wanted}

        def recorder(kind: str):
            async def record(data: object) -> None:
                say("EVENT", kind, json.dumps(data, default=str))
                if kind in seen:
                    seen[kind].set()

            return record

        for kind in ("trade_execution", "order_update", "position_update", "account_update"):
            await realtime.add_callback(kind, recorder(kind))
        if not await realtime.connect():
            say("FAILED connect")
            return
        if not await realtime.subscribe_user_updates():
            say("FAILED subscribe")
            return
        say("READY")
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in seen.values())), 30)
            say("DONE")
        finally:
            await realtime.disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
