"""Live detection wiring (placeholder until the detection core lands): nothing attached yet."""


def attach_live_detection(worker) -> None:
    return None
