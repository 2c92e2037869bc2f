"""The admin HTTP API's route groups, one blueprint each."""
