"""Device gateways (devices.md): each translates one field protocol into the canonical
MQTT topics of mqtt.md and acknowledges a device only after the broker has acknowledged
what was published for it. ``publisher`` is the MQTT side they share."""
