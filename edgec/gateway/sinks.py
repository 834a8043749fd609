"""Where decisions go: stdout as lines or JSON, and an MQTT broker when paho-mqtt is installed.

The decision line (version 1): ``GATEWAY,1,<time>,<name>,<event>,<label>,<nodes>,<score>`` with
``<nodes>`` joined by ``+`` and ``-`` for an empty field; JSON carries the same keys.
"""

from __future__ import annotations

import json


def decision_line(decision: dict) -> str:
    nodes = "+".join(decision.get("nodes") or []) or "-"
    score = decision.get("score")
    fields = ["GATEWAY", "1", f"{decision['time']:.3f}", decision["name"], decision["event"],
              decision.get("label") or "-", nodes, "-" if score is None else f"{score:.3f}"]
    return ",".join(str(f) for f in fields)


class StdoutSink:
    def __init__(self, console, as_json: bool = False):
        self.console = console
        self.as_json = as_json

    def __call__(self, decision: dict) -> None:
        if self.as_json:
            self.console.out(json.dumps(decision, sort_keys=True))
        else:
            self.console.out(decision_line(decision))
        self.console.stdout.flush()

    def close(self) -> None:
        pass


class MqttSink:
    """Publishes each decision as JSON to ``topic/<name>`` (paho-mqtt's client, QoS 0)."""

    def __init__(self, client, topic: str):
        self.client = client
        self.topic = topic.rstrip("/")

    def __call__(self, decision: dict) -> None:
        payload = json.dumps(decision, sort_keys=True)
        self.client.publish(f"{self.topic}/{decision['name']}", payload)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def mqtt_sink(address: str, topic: str, console) -> MqttSink | None:
    """An MQTT sink for ``HOST[:PORT]``, or None (with a warning) without paho-mqtt."""
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        console.wrn("--mqtt ignored: paho-mqtt is not installed (pip install paho-mqtt)")
        return None
    host, _, port = address.partition(":")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="edgec-gateway")
    try:
        client.connect(host, int(port or 1883))
    except (OSError, ValueError) as exc:
        from edgec.errors import EdgecError

        raise EdgecError(f"cannot connect to the MQTT broker {address}: {exc}",
                         "check --mqtt HOST[:PORT] and that the broker runs") from exc
    client.loop_start()
    return MqttSink(client, topic)
