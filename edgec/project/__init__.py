"""Firmware projects: an application config plus a board target become a Zephyr application
around the model's C (``edgec build --target <board>``). The application's templates are the
reference application in ``zephyr_app/``."""

from edgec.project.appconfig import AppConfig, load_app_config, parse_app_config
from edgec.project.modelio import ModelIO
from edgec.project.render import (APP_DIR, MODEL_DIR, plan_app, render_app, render_files,
                                  replay_samples, write_app)

__all__ = ["APP_DIR", "AppConfig", "MODEL_DIR", "ModelIO", "load_app_config",
           "parse_app_config", "plan_app", "render_app", "render_files", "replay_samples",
           "write_app"]
