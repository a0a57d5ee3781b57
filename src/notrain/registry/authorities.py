"""The data-protection supervisory authority of each country the platform serves.

A rejection names the authority of the requester's country of residence, where they may
lodge a complaint (GDPR Art. 77; in Brazil, LGPD Art. 18 § 1). Each is named as it names
itself, in its country's language (an authority's name is a proper noun); the sentence
around it is in the requester's language, and so is the country's name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Authority:
    name: str
    website: str


AUTHORITIES: dict[str, Authority] = {
    "AT": Authority("Österreichische Datenschutzbehörde", "https://www.dsb.gv.at"),
    "BE": Authority(
        "Gegevensbeschermingsautoriteit / Autorité de protection des données",
        "https://www.dataprotectionauthority.be",
    ),
    "BG": Authority("Комисия за защита на личните данни", "https://www.cpdp.bg"),
    "CY": Authority(
        "Γραφείο Επιτρόπου Προστασίας Δεδομένων Προσωπικού Χαρακτήρα",
        "https://www.dataprotection.gov.cy",
    ),
    "CZ": Authority("Úřad pro ochranu osobních údajů", "https://uoou.gov.cz"),
    "DE": Authority(
        "Die Bundesbeauftragte für den Datenschutz und die Informationsfreiheit (BfDI)",
        "https://www.bfdi.bund.de",
    ),
    "DK": Authority("Datatilsynet", "https://www.datatilsynet.dk"),
    "EE": Authority("Andmekaitse Inspektsioon", "https://www.aki.ee"),
    "ES": Authority("Agencia Española de Protección de Datos (AEPD)", "https://www.aepd.es"),
    "FI": Authority("Tietosuojavaltuutetun toimisto", "https://tietosuoja.fi"),
    "FR": Authority(
        "Commission nationale de l'informatique et des libertés (CNIL)", "https://www.cnil.fr"
    ),
    "GR": Authority("Αρχή Προστασίας Δεδομένων Προσωπικού Χαρακτήρα", "https://www.dpa.gr"),
    "HR": Authority("Agencija za zaštitu osobnih podataka (AZOP)", "https://azop.hr"),
    "HU": Authority("Nemzeti Adatvédelmi és Információszabadság Hatóság (NAIH)", "https://naih.hu"),
    "IE": Authority(
        "Data Protection Commission / An Coimisiún um Chosaint Sonraí",
        "https://www.dataprotection.ie",
    ),
    "IS": Authority("Persónuvernd", "https://www.personuvernd.is"),
    "IT": Authority(
        "Garante per la protezione dei dati personali", "https://www.garanteprivacy.it"
    ),
    "LI": Authority("Datenschutzstelle Liechtenstein", "https://www.datenschutzstelle.li"),
    "LT": Authority("Valstybinė duomenų apsaugos inspekcija", "https://vdai.lrv.lt"),
    "LU": Authority(
        "Commission nationale pour la protection des données (CNPD)", "https://cnpd.public.lu"
    ),
    "LV": Authority("Datu valsts inspekcija", "https://www.dvi.gov.lv"),
    "MT": Authority(
        "Office of the Information and Data Protection Commissioner", "https://idpc.org.mt"
    ),
    "NL": Authority("Autoriteit Persoonsgegevens", "https://autoriteitpersoonsgegevens.nl"),
    "NO": Authority("Datatilsynet", "https://www.datatilsynet.no"),
    "PL": Authority("Prezes Urzędu Ochrony Danych Osobowych (UODO)", "https://uodo.gov.pl"),
    "PT": Authority("Comissão Nacional de Proteção de Dados (CNPD)", "https://www.cnpd.pt"),
    "RO": Authority(
        "Autoritatea Națională de Supraveghere a Prelucrării Datelor cu Caracter Personal "
        "(ANSPDCP)",
        "https://www.dataprotection.ro",
    ),
    "SE": Authority("Integritetsskyddsmyndigheten (IMY)", "https://www.imy.se"),
    "SI": Authority("Informacijski pooblaščenec", "https://www.ip-rs.si"),
    "SK": Authority(
        "Úrad na ochranu osobných údajov Slovenskej republiky", "https://dataprotection.gov.sk"
    ),
    "BR": Authority("Autoridade Nacional de Proteção de Dados (ANPD)", "https://www.gov.br/anpd"),
}
# Brazil's law (LGPD) grants the complaint in its own words; everywhere else, the GDPR.
LGPD_COUNTRIES = frozenset({"BR"})


def authority_of(country: str) -> Authority | None:
    return AUTHORITIES.get(country.upper())
