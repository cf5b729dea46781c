"""Column names used by every table the package returns.
Book: 02_the_data.ipynb, sec-shop-logs, sec-open-bandit, sec-movielens

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
POLICY = "policy"  # which policy logged the row / the arm of an A/B test
SHOW_PROBABILITY = "show_probability"  # probability that the logging policy showed this item in the session at all
SHOWN = "shown"  # 1 if the item was shown in the session (pairs / purchases tables)
SAMPLE_WEIGHT = "sample_weight"  # weight that makes a sampled table represent all (session, item) pairs
CAMPAIGN = "campaign"  # Open Bandit Dataset campaign: all / men / women

# outcomes
CLICK = "click"
PURCHASE = "purchase"
RATING = "rating"
INCREMENTAL = "incremental_purchase"  # purchases caused by the list (known only in the simulation)
RETURN = "returned"  # purchases sent back (sold on a pitch with invented claims; simulated A/B tests only)
EVENT = "event"  # view / click / purchase in an interaction history

# item attributes
TITLE = "title"
DESCRIPTION = "description"
CATEGORY = "category"
PRICE = "price"
POPULARITY = "popularity"
COLD_START = "cold_start"
GENRES = "genres"
YEAR = "year"

# user attributes
ACTIVITY = "activity"
AGE = "age"
GENDER = "gender"
OCCUPATION = "occupation"
DECLARED_INTEREST = "declared_interest"  # the shop's users: favourite category stated at sign-up

__all__ = [name for name in dir() if name.isupper()]
