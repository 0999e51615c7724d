"""ISO 3166-1 alpha-2: the country codes an address may carry (``validate`` checks them offline).

Stripe's address ``country`` is free text, but its tax features need the two-letter code, so the file
takes only an assigned code. The 249 codes ISO 3166-1 assigns, by first letter.
"""

from __future__ import annotations

from typing import Final

_BY_LETTER = """
A: D E F G I L M O Q R S T U W X Z
B: A B D E F G H I J L M N O Q R S T V W Y Z
C: A C D F G H I K L M N O R U V W X Y Z
D: E J K M O Z
E: C E G H R S T
F: I J K M O R
G: A B D E F G H I L M N P Q R S T U W Y
H: K M N R T U
I: D E L M N O Q R S T
J: E M O P
K: E G H I M N P R W Y Z
L: A B C I K R S T U V Y
M: A C D E F G H K L M N O P Q R S T U V W X Y Z
N: A C E F G I L O P R U Z
O: M
P: A E F G H K L M N R S T W Y
Q: A
R: E O S U W
S: A B C D E G H I J K L M N O R S T V X Y Z
T: C D F G H J K L M N O R T V W Z
U: A G M S Y Z
V: A C E G I N U
W: F S
Y: E T
Z: A M W
"""

COUNTRY_CODES: Final = frozenset(
    first + second
    for line in _BY_LETTER.strip().splitlines()
    for first, seconds in [line.split(":")]
    for second in seconds.split()
)
