"""The history store: every paid read kept (issue 12). Never imports streamlit.

::

    from xmetrics_core.store import open_store, Account

    store = open_store()                       # $XMETRICS_DATABASE_URL, else ~/.local/share/xmetrics/history.db
    store.save(result, source="dashboard", account=Account(user_id="2244994945", username="XDevelopers"))
    store.latest(["1460323737035677698"])      # tidy frames for plotly express …
    store.spend()                              # reads and estimated spend today / this month

See ``ARCHITECTURE.md`` ("History store") for the contracts and ``store.py`` for every method.
"""

from xmetrics_core.store.engine import (
    DATABASE_URL_ENV,
    DEMO_DATABASE_URL_ENV,
    data_dir,
    database_url_from_env,
    default_sqlite_url,
    head_revision,
    safe_url,
)
from xmetrics_core.store.errors import (
    StoreCorrupt,
    StoreError,
    StoreLocked,
    StoreReadOnly,
    StoreTooNew,
    StoreUnavailable,
)
from xmetrics_core.store.history import DEFAULT_AGES, age_label, history_columns
from xmetrics_core.store.keys import Account, Source
from xmetrics_core.store.ledger import PeriodSpend, ReadPlan, ReadPrices, Spend
from xmetrics_core.store.snapshots import SaveOutcome
from xmetrics_core.store.store import Store, StoreSummary, open_store
from xmetrics_core.store.watchlist import (
    DEFAULT_LEASE,
    DEFAULT_SCHEDULE,
    Claim,
    DuePost,
    FollowedAccount,
    Schedule,
    Tier,
    WatchedPost,
    parse_duration,
)

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_AGES",
    "DEFAULT_LEASE",
    "DEFAULT_SCHEDULE",
    "DEMO_DATABASE_URL_ENV",
    "Account",
    "Claim",
    "DuePost",
    "FollowedAccount",
    "PeriodSpend",
    "ReadPlan",
    "ReadPrices",
    "SaveOutcome",
    "Schedule",
    "Source",
    "Spend",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreLocked",
    "StoreReadOnly",
    "StoreSummary",
    "StoreTooNew",
    "StoreUnavailable",
    "Tier",
    "WatchedPost",
    "age_label",
    "data_dir",
    "database_url_from_env",
    "default_sqlite_url",
    "head_revision",
    "history_columns",
    "open_store",
    "parse_duration",
    "safe_url",
]
