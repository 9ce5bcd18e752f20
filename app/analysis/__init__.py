"""Picture analysis: one ``analyze`` job per picture, made of registered steps."""
