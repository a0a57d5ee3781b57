"""The people of the synthetic platform: first names, last names, and who gets talked about.

One pool serves both generators. The platform builds members' handles from the first and
last names and writes the full names of ``PEOPLE`` into texts ("dinner with Maria
Gonzalez"); the snapshot generator draws its non-member requesters from the same
``PEOPLE``, by the same popularity, so their names really occur in the content.

Every name is ASCII, at least four letters, and not an English word ("Rose", "Mark",
"Park", "Wolf" are left out), so a lower-cased full name used as a redaction identifier
cannot match ordinary prose by accident.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FIRST_NAMES: tuple[str, ...] = (
    "Anna", "Maria", "Sofia", "Elena", "Giulia", "Chiara", "Camille", "Manon", "Chloe",
    "Emma", "Lena", "Hannah", "Leonie", "Emilia", "Zofia", "Katarzyna", "Agnieszka",
    "Ioana", "Andreea", "Eszter", "Petra", "Tereza", "Jana", "Lucia", "Ines", "Beatriz",
    "Mariana", "Carmen", "Aoife", "Niamh", "Siobhan", "Astrid", "Ingrid", "Freya",
    "Sigrid", "Aino", "Eleni", "Katerina", "Ilse", "Marta", "Laura", "Julia", "Clara",
    "Priya", "Ananya", "Yuki", "Haruka", "Seoyeon", "Jiwoo", "Amara", "Chiamaka", "Lerato",
    "Thandiwe", "Fernanda", "Gabriela", "Valentina", "Ximena", "Olivia", "Amelia",
    "Lukas", "Jonas", "Felix", "Maximilian", "Matteo", "Lorenzo", "Giorgio", "Luca",
    "Hugo", "Louis", "Theo", "Mathis", "Mateo", "Pablo", "Javier", "Diego", "Joao",
    "Tiago", "Piotr", "Jakub", "Marek", "Tomas", "Andrei", "Mihai", "Bence", "Levente",
    "Nikos", "Giannis", "Sven", "Magnus", "Bjorn", "Mikko", "Juhani", "Liam", "Oisin",
    "Ciaran", "Ruairi", "Daan", "Sander", "Arjun", "Rohan", "Haruto", "Kenji", "Minjun",
    "Jihoon", "Chidi", "Emeka", "Thabo", "Sipho", "Rafael", "Thiago", "Santiago", "Noah",
    "Ethan", "Oliver", "Samuel", "Dmitri", "Aleksander", "Kristof",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Gonzalez", "Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker",
    "Hoffmann", "Richter", "Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci",
    "Marino", "Dubois", "Lefevre", "Moreau", "Laurent", "Girard", "Fontaine", "Kowalski",
    "Nowak", "Wisniewski", "Novak", "Horvat", "Popescu", "Ionescu", "Papadopoulos",
    "Georgiou", "Jansen", "Peeters", "Janssens", "Andersson", "Johansson", "Lindqvist",
    "Nielsen", "Hansen", "Pedersen", "Virtanen", "Korhonen", "Tamm", "Kazlauskas",
    "Berzins", "Fernandes", "Oliveira", "Ferreira", "Carvalho", "Garcia", "Martinez",
    "Rodriguez", "Lopez", "Hernandez", "Murphy", "Kelly", "Walsh", "Byrne", "Brennan",
    "Gallagher", "Szabo", "Kovacs", "Horvath", "Varga", "Dvorak", "Svoboda", "Novotny",
    "Zupan", "Krajnc", "Camilleri", "Dimitrov", "Georgiev", "Ivanova", "Petrov", "Nakamura",
    "Tanaka", "Suzuki", "Watanabe", "Sharma", "Patel", "Iyer", "Okafor", "Adeyemi",
    "Okonkwo", "Nkosi", "Dlamini", "Mokoena", "Haddad", "Cohen", "Yilmaz", "Kaya",
    "Santos", "Pereira", "Almeida", "Thompson", "Robinson", "Anderson", "Mitchell",
    "Nguyen", "Tremblay", "Gagnon", "Kuznetsova", "Lindberg", "Eriksson", "Halvorsen",
    "Jonsdottir", "Gunnarsson", "Schulz", "Zimmermann", "Krause", "Lehmann", "Fontana",
)  # fmt: skip

PEOPLE_COUNT = 5000
# How steeply attention concentrates on a few people: weight of rank r is 1 / (r + 1)^s.
POPULARITY_EXPONENT = 1.1


def _people(count: int) -> tuple[str, ...]:
    # Person i gets first name i mod F and a last name that shifts with each lap round the
    # first names, so (first, last) pairs are distinct for every i < F * L.
    firsts, lasts = FIRST_NAMES, LAST_NAMES
    out: list[str] = []
    for i in range(count):
        a, lap = i % len(firsts), i // len(firsts)
        out.append(f"{firsts[a]} {lasts[(lap + a * 7) % len(lasts)]}")
    return tuple(out)


PEOPLE: tuple[str, ...] = _people(PEOPLE_COUNT)
"""Full names of people talked about on the platform, most talked-about first."""


def popularity(count: int) -> npt.NDArray[np.float64]:
    """Probabilities of being named in a text for the first ``count`` of ``PEOPLE``."""
    weights: npt.NDArray[np.float64] = np.arange(1, count + 1, dtype=np.float64)
    weights = weights**-POPULARITY_EXPONENT
    probabilities: npt.NDArray[np.float64] = weights / weights.sum()
    return probabilities


# Kept apart from the domains of members' account e-mails, so the two never coincide.
PEOPLE_EMAIL_DOMAINS = ("example.net", "example.org")


def person_email(rank: int, full_name: str) -> str:
    """The one address of the person of that rank, as texts and snapshot identifiers write it."""
    first, last = full_name.lower().split(" ")
    return f"{first}.{last}@{PEOPLE_EMAIL_DOMAINS[rank % len(PEOPLE_EMAIL_DOMAINS)]}"
