"""The storage facade: every store over one engine, and opening a database ready for use."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cdr.storage.compositions import CompositionStore
from cdr.storage.contributions import ContributionStore
from cdr.storage.directory import DirectoryStore
from cdr.storage.ehr_status import EhrStatusStore
from cdr.storage.ehrs import EhrStore
from cdr.storage.engine import DEFAULT_URL, create_engine
from cdr.storage.item_tags import ItemTagStore
from cdr.storage.migrate import upgrade
from cdr.storage.templates import TemplateStore

DEFAULT_SYSTEM_ID = "cdr.local"


class Storage:
    """One store per aggregate, sharing an engine and the system id that names this server in version uids."""

    def __init__(self, engine: Engine, system_id: str = DEFAULT_SYSTEM_ID) -> None:
        self.engine = engine
        self.system_id = system_id
        self.ehrs = EhrStore(engine, system_id)
        self.ehr_status = EhrStatusStore(engine, system_id)
        self.compositions = CompositionStore(engine, system_id)
        self.directory = DirectoryStore(engine, system_id)
        self.contributions = ContributionStore(engine, system_id)
        self.templates = TemplateStore(engine)
        self.item_tags = ItemTagStore(engine)

    @classmethod
    def open(
        cls, url: str | sa.URL = DEFAULT_URL, system_id: str = DEFAULT_SYSTEM_ID, migrate: bool = True
    ) -> Storage:
        """Connect to ``url`` and (by default) migrate it to the current schema first."""
        engine = create_engine(url)
        if migrate:
            upgrade(engine)
        return cls(engine, system_id)

    def close(self) -> None:
        self.engine.dispose()
