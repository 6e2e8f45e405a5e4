# One image for every wasteflow process: the API, the bridge workers, migrations, broker-config, the simulator.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY wasteflow ./wasteflow
COPY mqtt_bridge ./mqtt_bridge
COPY simulators ./simulators
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
RUN useradd --system --uid 10001 wasteflow
USER wasteflow
CMD ["wasteflow", "serve", "--no-migrate"]
