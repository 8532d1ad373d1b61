"""ToolboxAI backend (stand-in). The real service is a FastAPI app with /health and /docs."""


def health() -> dict:
    return {"status": "healthy"}
