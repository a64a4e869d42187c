"""Shared fixtures' data for the client tests: a JSON schema a tiny model can fill, a tool."""

SCHEMA = {"type": "object",
          "properties": {"answer": {"type": "boolean"}, "size": {"enum": ["small", "large"]}},
          "required": ["answer", "size"], "additionalProperties": False}

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}
