"""The regulator's console: static HTML/JS/CSS served by the API under ``/console``."""
