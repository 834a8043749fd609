"""Firmware projects: an application config plus a board target become a Zephyr application
around the model's C (``edgec build --target <board>``)."""

from edgec.project.appconfig import AppConfig, load_app_config, parse_app_config
from edgec.project.render import MODEL_DIR, plan_app, render_app, render_files, replay_samples

__all__ = ["AppConfig", "MODEL_DIR", "load_app_config", "parse_app_config", "plan_app",
           "render_app", "render_files", "replay_samples"]
