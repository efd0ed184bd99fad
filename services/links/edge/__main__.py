from services.links.edge.app import create_app
from shared.service import serve

serve(create_app, name="edge", port=lambda s: s.edge_port)
