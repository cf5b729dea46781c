"""Column names used by every table the package returns.

One set of names for the simulated shop, the Open Bandit Dataset and MovieLens, so that a chapter can swap one
data source for another without renaming columns. Import them as ``crt.columns.USER`` etc.
"""

# identifiers
USER = "user_id"
ITEM = "item_id"
SESSION = "session_id"
TIMESTAMP = "timestamp"

# what the logging policy did
POSITION = "position"  # 0-based slot in the recommended list
PROPENSITY = "propensity"  # probability that the logging policy showed this item in this slot
POLICY = "policy"

# outcomes
CLICK = "click"
PURCHASE = "purchase"
RATING = "rating"

# item attributes
TITLE = "title"
DESCRIPTION = "description"
CATEGORY = "category"
PRICE = "price"
POPULARITY = "popularity"
COLD_START = "cold_start"
GENRES = "genres"

# user attributes
ACTIVITY = "activity"
AGE = "age"
GENDER = "gender"
OCCUPATION = "occupation"

__all__ = [name for name in dir() if name.isupper()]
