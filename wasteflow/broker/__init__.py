"""The broker's view of the registry: who may connect to Mosquitto and what each may touch."""
