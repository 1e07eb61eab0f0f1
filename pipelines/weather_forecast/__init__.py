"""Hourly weather at the three New York airports in 2013 (nycflights13, CC0): forecast the temperature at JFK 24
hours ahead from the previous 48 hours of readings at EWR, JFK and LGA (as Chollet's book does with the Jena
climate data).

Each hour gives five readings per airport (temperature, dew point and relative humidity, wind speed, sea-level
pressure): a window is 48 hours x 15 columns of raw readings, normalised inside the model with the training
period's means and variances. The model is a small LSTM (the books' only models that beat the persistence
baseline are recurrent) with recurrent dropout off so that it runs the fused kernel on CPU.
"""

from __future__ import annotations

from typing import Any

from pipelines.problem import SeriesProblem


def build_lstm_forecaster(spec: dict[str, Any], hp: dict[str, Any]) -> Any:
    """Raw window -> Normalization (training means/variances) -> LSTM -> Dropout -> Dense(1) -> back to degrees
    (training mean and standard deviation of the target), MSE loss."""
    import keras

    shape = (int(spec["lookback_hours"]), len(spec["columns"]))
    window = keras.Input(shape=shape, dtype="float32", name="window")
    x = keras.layers.Normalization(mean=spec["mean"], variance=spec["variance"], name="normalise")(window)
    x = keras.layers.LSTM(int(hp["recurrent_units"]))(x)
    x = keras.layers.Dropout(float(hp["dropout"]))(x)
    x = keras.layers.Dense(1)(x)  # the forecast in training standard deviations from the training mean
    scale, offset = float(spec["target_std"]), float(spec["target_mean"])
    output = keras.layers.Rescaling(scale=scale, offset=offset, dtype="float32", name="output_0")(x)
    model = keras.Model(window, output, name=f"{spec['problem']}_lstm")
    model.compile(
        optimizer=keras.optimizers.Adam(float(hp["learning_rate"])),
        loss="mse",
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse"), keras.metrics.MeanAbsoluteError(name="mae")],
    )
    return model


PROBLEM = SeriesProblem(
    name="weather_forecast",
    time_column="time_hour",
    station_column="origin",
    stations=("EWR", "JFK", "LGA"),
    features=("temp", "dewp", "humid", "wind_speed", "pressure"),
    target_station="JFK",
    target_feature="temp",
    lookback_hours=48,
    horizon_hours=24,
    build_model=build_lstm_forecaster,
    valid_ranges={
        "temp": (-40.0, 120.0),
        "dewp": (-60.0, 100.0),
        "humid": (0.0, 100.0),
        "wind_speed": (0.0, 100.0),  # the source has one reading of 1048 mph: a sensor error
        "pressure": (950.0, 1070.0),
    },
    description="Hourly weather at EWR, JFK and LGA in 2013 (nycflights13, CC0); JFK temperature 24 h ahead.",
    extra={"unit": "°F"},
)
