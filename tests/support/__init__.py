"""Test support shared by test modules: scripted speech providers (`providers`), flow
helpers (`flows`). Never imported by production code."""
