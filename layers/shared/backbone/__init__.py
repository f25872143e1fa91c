"""Domain core shared by every function: OIOI protocol, identifiers, partner clients, settings.

Lives in the shared Lambda layer (`python/backbone`); tests import it exactly as Lambda does.
"""
