-- ToolboxAI database initialisation (runs once, on an empty data directory).
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE SCHEMA IF NOT EXISTS toolboxai;
CREATE TABLE IF NOT EXISTS toolboxai.health_check (
    id SERIAL PRIMARY KEY,
    checked_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
