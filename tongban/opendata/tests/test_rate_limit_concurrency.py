"""The rate limit holds when calls race: 24 calls of one key at once, each on its own thread
and database connection, admit exactly the limit — on PostgreSQL, and on SQLite when the test
database is a file as the platform's is (TONGBAN_TEST_SQLITE_FILE=1). The default in-memory
test database shares one cache between connections, which refuses a second writer at once
("table is locked") instead of letting it wait its turn as a database file does."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection, connections

from tongban.opendata.errors import ApiRateLimited
from tongban.opendata.models import ApiKeyDailyUsage
from tongban.opendata.services import api_call_admit
from tongban.opendata.tests.conftest import register

CALLS = 24
LIMIT = 7
AT = dt.datetime(2026, 11, 20, 2, 0, 5, tzinfo=dt.UTC)


@pytest.mark.django_db(transaction=True)
def test_racing_calls_of_one_key_admit_exactly_the_limit(settings):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("SQLite in memory: writers are refused, not queued (see above)")
    settings.TONGBAN_OPENDATA_RATE_LIMIT = LIMIT
    key = register().key
    barrier = threading.Barrier(CALLS)
    outcomes: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def call():
        barrier.wait(timeout=60)
        try:
            api_call_admit(key=key, dataset_id="halls", now=AT)
            result = "admitted"
        except ApiRateLimited:
            result = "refused"
        except BaseException as exc:  # reported below: a thread must not die silently
            result = "error"
            unexpected.append(exc)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=call) for _ in range(CALLS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert unexpected == []
    assert Counter(outcomes) == {"admitted": LIMIT, "refused": CALLS - LIMIT}
    key.refresh_from_db()
    assert key.window_calls == LIMIT
    usage = ApiKeyDailyUsage.objects.get()
    assert (usage.calls, usage.refused) == (LIMIT, CALLS - LIMIT)
