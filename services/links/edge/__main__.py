from services.links.edge.app import create_app
from services.links.edge.processes import start_copies
from shared.service import serve
from shared.settings import Settings

settings = Settings.from_env()
start_copies(settings)
serve(create_app, name="edge", port=lambda s: s.edge_port, settings=settings)
