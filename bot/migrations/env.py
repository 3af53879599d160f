"""Alembic environment: runs on the connection bot.infra.db hands it, or opens one from the URL."""

from alembic import context

from bot.credentials.models import Base
from bot.infra.db import create_db_engine

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:  # bot.infra.db.alembic_config sets it
        raise RuntimeError("the Alembic config names no sqlalchemy.url")
    engine = create_db_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
