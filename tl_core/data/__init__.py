"""Data ingestion: read folders, zips, tables and uploads into one Dataset, check it, split it.

Nothing here imports torch, so the CLI starts fast. Augmentation works on decoded tensors and lives
with them in `tl_core.inputs`.
"""

from .archives import MAX_ZIP_BYTES as MAX_ZIP_BYTES
from .archives import MAX_ZIP_FILES as MAX_ZIP_FILES
from .archives import load_image_zip as load_image_zip
from .examples import DataError as DataError
from .examples import Dataset as Dataset
from .examples import Example as Example
from .examples import Skipped as Skipped
from .examples import duration as duration
from .examples import plural as plural
from .examples import seen_ways as seen_ways
from .examples import rename_labels as rename_labels
from .examples import things as things
from .folders import load_image_folder as load_image_folder
from .images import MAX_PIXELS as MAX_PIXELS
from .images import read_image as read_image
from .images import undecodable_pictures as undecodable_pictures
from .names import safe_component as safe_component
from .report import MIN_PER_CLASS as MIN_PER_CLASS
from .report import Report as Report
from .report import make_report as make_report
from .sources import load_dataset as load_dataset
from .split import split as split
from .tables import MAX_TEXT_CHARS as MAX_TEXT_CHARS
from .tables import guess_columns as guess_columns
from .tables import load_text_table as load_text_table
from .tables import table_columns as table_columns
from .uploads import images_from_uploads as images_from_uploads
from .uploads import save_texts as save_texts
from .uploads import save_uploads as save_uploads
from .uploads import texts_from_lists as texts_from_lists
