"""Demo data for the simulated Clearfacts: two accounting offices, their companies and people.

Idempotent: running it again changes nothing (statistics follow the current month).
"""

import datetime
import random

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from sandbox.clearfacts.models import (
    Accountant,
    ArchiveCategory,
    AssociateGroup,
    ClearfactsUser,
    Company,
    Customer,
    Journal,
    OAuthClient,
    Statistic,
)

DEMO_PASSWORD = "clearfacts-demo"  # noqa: S105 (a published demo password of the sandbox)

OFFICES = [
    {
        "name": "Boekhoudkantoor Vandenberghe & Partners",
        "company_number": "0471234512",
        "email": "info@vandenberghe-partners.be",
        "street_address": "Kortrijksesteenweg 1024, 9000 Gent",
        "domain": "vandenberghe",
        "companies": [
            ("Bakkerij Maes BV", "0652381715", "Sint-Pietersnieuwstraat 12, 9000 Gent", 18),
            ("Brouwerij De Leeuw NV", "0441908244", "Molenstraat 7, 9300 Aalst", 142),
            ("Garage Peeters BV", "0883015645", "Tiensesteenweg 210, 3000 Leuven", 35),
            ("Architectenbureau Wouters BV", "0527194307", "Lange Nieuwstraat 55, 2000 Antwerpen", 9),
            ("Tandartsenpraktijk Claes BV", "0774512039", "Smedenstraat 3, 8000 Brugge", 4),
            ("Slagerij Janssens & Zonen VOF", "0619834750", "Bruul 88, 2800 Mechelen", 12),
            ("Van Damme IT Solutions BV", "0458821381", "Doorniksesteenweg 140, 8500 Kortrijk", 27),
        ],
    },
    {
        "name": "Fiduciaire Lambert SRL",
        "company_number": "0841293767",
        "email": "contact@fiduciaire-lambert.be",
        "street_address": "Boulevard d'Avroy 38, 4000 Liège",
        "domain": "lambert",
        "companies": [
            ("Boulangerie Dubois SRL", "0665048133", "Rue de Fer 21, 5000 Namur", 14),
            ("Transports Leroy SA", "0582309410", "Quai de Brabant 5, 6000 Charleroi", 48),
        ],
    },
]

# (username, first, last, locale, kind, associate type, sees all, companies by number, office index)
USERS = [
    (
        "sofie.vandenberghe@vandenberghe-partners.be",
        "Sofie",
        "Vandenberghe",
        "nl-BE",
        "associate",
        "ADMIN",
        True,
        [],
        0,
    ),
    ("pieter.declercq@vandenberghe-partners.be", "Pieter", "De Clercq", "nl-BE", "associate", "USER", True, [], 0),
    ("an.maes@bakkerij-maes.be", "An", "Maes", "nl-BE", "client", "", False, ["0652381715"], 0),
    ("koen.maes@bakkerij-maes.be", "Koen", "Maes", "nl-BE", "client", "", False, ["0652381715"], 0),
    ("marc.lambert@fiduciaire-lambert.be", "Marc", "Lambert", "fr-BE", "associate", "ADMIN", True, [], 1),
]

JOURNALS = [
    ("CFAK", "ClearFacts Aankopen", False),
    ("CFAC", "ClearFacts Aankopen creditnota's", True),
    ("CFVK", "ClearFacts Verkopen", False),
    ("CFVC", "ClearFacts Verkopen creditnota's", True),
    ("FIN", "Financiële verrichtingen", False),
]
ARCHIVE_CATEGORIES = {
    ArchiveCategory.Kind.VARIOUS: ["Beleggingen", "Verzekeringen", "Leasingcontracten", "Subsidies"],
    ArchiveCategory.Kind.PERMANENT: ["Huurovereenkomst", "Statuten", "Arbeidsreglement"],
}
CUSTOMER_KINDS = ["Café", "Taverne", "Brasserie", "Restaurant", "Feestzaal", "Bistro", "Drankenhandel"]
CUSTOMER_NAMES = [
    "De Zwaan",
    "'t Hoekske",
    "Sint-Jan",
    "De Kroon",
    "Het Anker",
    "De Linde",
    "Den Engel",
    "De Valk",
    "Het Wit Paard",
    "De Sportwereld",
    "'t Pleintje",
    "De Klokke",
    "Tijl",
    "De Vriendschap",
    "Au Vieux Marché",
    "De Molen",
    "Het Gulden Vlies",
    "Den Hert",
    "De Drie Koningen",
    "Welkom",
]
CITIES = ["Aalst", "Gent", "Dendermonde", "Ninove", "Geraardsbergen", "Zottegem", "Wetteren", "Lede", "Erpe-Mere"]
STATISTICS_MONTHS = 24


def _upsert(model, lookup: dict, values: dict):
    obj, _ = model.objects.update_or_create(**lookup, defaults=values)
    return obj


def _customers(company: Company, count: int) -> None:
    rng = random.Random(company.company_number)
    customers = []
    for index in range(1, count + 1):
        kind, name = CUSTOMER_KINDS[index % len(CUSTOMER_KINDS)], CUSTOMER_NAMES[index % len(CUSTOMER_NAMES)]
        customers.append(
            Customer(company=company, code=f"K{index:04d}", name=f"{kind} {name} ({index})", city=rng.choice(CITIES))
        )
    Customer.objects.bulk_create(
        customers, update_conflicts=True, unique_fields=["company", "code"], update_fields=["name", "city"]
    )


def _statistics(company: Company, today: datetime.date) -> None:
    rng = random.Random(f"stats-{company.company_number}")
    month, size, rows = today.replace(day=1), rng.randint(20, 160), []
    for _ in range(STATISTICS_MONTHS):
        rows.append(Statistic(company=company, kind="AIR", month=month, value=int(size * rng.uniform(0.6, 1.0))))
        for invoice_type in ("PURCHASE", "SALE"):
            for worklist in (False, True):
                share = 0.65 if invoice_type == "PURCHASE" else 0.35
                value = int(size * share * (0.3 if worklist else 0.7) * rng.uniform(0.8, 1.2))
                rows.append(
                    Statistic(
                        company=company,
                        kind="processing",
                        month=month,
                        invoice_type=invoice_type,
                        worklist=worklist,
                        value=value,
                    )
                )
        month = (month - datetime.timedelta(days=1)).replace(day=1)
    Statistic.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["company", "kind", "month", "invoice_type", "worklist"],
        update_fields=["value"],
    )


def _portal_client() -> OAuthClient:
    callback = reverse("accounts:oidc-callback")
    port = settings.PORT
    redirect_uris = dict.fromkeys(
        [f"{settings.SITE_URL}{callback}", f"http://localhost:{port}{callback}", f"http://127.0.0.1:{port}{callback}"]
    )
    client = _upsert(
        OAuthClient,
        {"client_id": settings.OIDC_RP_CLIENT_ID},
        {"name": "Clearfacts portal", "redirect_uris": "\n".join(redirect_uris), "connected_app": True},
    )
    client.set_secret(settings.OIDC_RP_CLIENT_SECRET)
    client.save(update_fields=["client_secret_hash"])
    return client


def seed() -> list[str]:
    today = timezone.localdate()
    offices = []
    for office in OFFICES:
        accountant = _upsert(
            Accountant,
            {"company_number": office["company_number"]},
            {"name": office["name"], "email": office["email"], "street_address": office["street_address"]},
        )
        offices.append(accountant)
        _upsert(
            AssociateGroup,
            {"accountant": accountant, "name": "Dossierbeheerders"},
            {"email": f"dossiers@{office['domain']}.be"},
        )
        _upsert(
            AssociateGroup,
            {"accountant": accountant, "name": "Loonadministratie"},
            {"email": f"lonen@{office['domain']}.be"},
        )
        for name, number, street, customer_count in office["companies"]:
            company = _upsert(
                Company,
                {"company_number": number},
                {
                    "accountant": accountant,
                    "name": name,
                    "street_address": street,
                    "account_manager": office["email"],
                    "emails": [
                        {"type": "purchase", "emailAddress": f"aankoop-{number}@{office['domain']}.clearfacts.be"},
                        {"type": "purchase", "emailAddress": f"achat-{number}@{office['domain']}.clearfacts.be"},
                    ],
                },
            )
            for code, journal_name, credit_note in JOURNALS:
                _upsert(Journal, {"company": company, "code": code}, {"name": journal_name, "credit_note": credit_note})
            for kind, names in ARCHIVE_CATEGORIES.items():
                for category_name in names:
                    ArchiveCategory.objects.get_or_create(company=company, kind=kind, name=category_name)
            _customers(company, customer_count)
            _statistics(company, today)

    lines = []
    for username, first, last, locale, kind, associate_type, sees_all, numbers, office_index in USERS:
        user, created = ClearfactsUser.objects.update_or_create(
            username=username,
            defaults={
                "accountant": offices[office_index],
                "email": username,
                "first_name": first,
                "last_name": last,
                "locale": locale,
                "kind": kind,
                "associate_type": associate_type,
                "sees_all_companies": sees_all,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        if numbers:
            user.companies.set(Company.objects.filter(company_number__in=numbers))
        if kind == "associate":
            user.associate_groups.set(AssociateGroup.objects.filter(accountant=offices[office_index])[:1])
        sees = "all administrations" if sees_all else ", ".join(c.name for c in user.companies.all())
        lines.append(f"{username:<46} {offices[office_index].name}: {sees}")

    _portal_client()
    return lines
