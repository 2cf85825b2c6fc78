"""Calibrating markets to logged data, and comparing a scenario's shoppers with real ones.

- :mod:`shopgym.calibration.clicks`: the click side. A logged click model fitted by maximum likelihood to
  Open-Bandit-format impressions, logs of the same format simulated from a scenario under uniform random slates,
  and the scenario whose simulated logs give the same fit (:func:`~shopgym.calibration.clicks.calibrate_clicks`).
- :mod:`shopgym.calibration.fidelity`: statistics of real and simulated logs side by side, each with a 95 %
  interval and a verdict, written as ``fidelity.json`` and ``fidelity.md``.
- :mod:`shopgym.calibration.obd`: the Open Bandit Dataset's click logs: calibrating to them, the fidelity report.
- :mod:`shopgym.calibration.transaction_log`: transaction logs (Ta Feng's layout), bootstrapped by customer, and
  their product-days.
- :mod:`shopgym.calibration.transactions`: the statistics of a transaction log.
- :mod:`shopgym.calibration.reference_prices`: the reference-price regression with separate gain and loss
  coefficients.
- :mod:`shopgym.calibration.store`: a scenario's shoppers in a store over days (routine lines at the shelf
  prices of a store policy), written as a transaction log.
- :mod:`shopgym.calibration.store_fit`: a scenario fitted to a transaction log by indirect inference on simulated
  store logs.
- :mod:`shopgym.calibration.tafeng`: what the Ta Feng log says, per window, and the scenario calibrated to it.
- :mod:`shopgym.calibration.tafeng_fidelity`: a scenario's shoppers next to Ta Feng's, on the fitted window and
  the held-out month.

Nothing here downloads: the data come from :mod:`shopgym.datasets`.
"""
