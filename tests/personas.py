"""The sandbox's demo people and companies (sandbox/clearfacts/seed.py) that tests sign in as and look at.

The fixtures signed in as them (sofie, an, manager, browser) are in tests/signed_in.py.
"""

# Boekhoudkantoor Vandenberghe & Partners, the first office: seven administrations.
SOFIE = "sofie.vandenberghe@vandenberghe-partners.be"  # ADMIN associate, sees every administration
PIETER = "pieter.declercq@vandenberghe-partners.be"  # USER associate, sees every administration
AN = "an.maes@bakkerij-maes.be"  # client user of Bakkerij Maes only
KOEN = "koen.maes@bakkerij-maes.be"  # client user of Bakkerij Maes only
# Fiduciaire Lambert SRL, the other office.
MARC = "marc.lambert@fiduciaire-lambert.be"  # ADMIN associate

BAKKERIJ = "0652381715"  # Bakkerij Maes BV
BROUWERIJ = "0441908244"  # Brouwerij De Leeuw NV: more than 100 customers
BOULANGERIE = "0665048133"  # Boulangerie Dubois SRL, of the other office
