from invoicesync.domain.contact_names import (
    contact_base_name,
    disambiguated_name,
    name_key,
    qbo_display_name,
    xero_contact_name,
    xero_search_term,
)
from tests.unit.domain.canonical_builders import contact

JANE_A = contact(keap_id="1234")
JANE_B = contact(keap_id="5678", email="other.jane@example.com")


def test_first_contact_keeps_its_plain_name():
    assert xero_contact_name(JANE_A) == "Jane Smith"


def test_a_second_contact_with_the_same_name_gets_its_keap_id():
    assert xero_contact_name(JANE_B, taken_names=["Jane Smith"]) == "Jane Smith (Keap 5678)"


def test_the_disambiguated_name_depends_only_on_the_contacts_own_id():
    # Whichever Jane arrives second, her name is the same on every replay.
    assert xero_contact_name(JANE_A, ["Jane Smith"]) == "Jane Smith (Keap 1234)"
    assert xero_contact_name(JANE_A, ["Jane Smith", "Jane Smith (Keap 5678)"]) == (
        "Jane Smith (Keap 1234)"
    )
    assert xero_contact_name(JANE_A, ["Jane Smith"]) != xero_contact_name(JANE_B, ["Jane Smith"])


def test_names_collide_regardless_of_case_accents_and_spacing():
    renee = contact(name="Renée  Dupont", keap_id="77")
    assert xero_contact_name(renee, ["RENEE DUPONT"]) == "Renée Dupont (Keap 77)"
    assert name_key("Renée  Dupont") == name_key("renee dupont")


def test_double_quotes_and_backslashes_stay_in_the_xero_name():
    assert xero_contact_name(contact(name='Bob "The Builder" Ltd\\')) == 'Bob "The Builder" Ltd\\'


def test_a_name_is_searched_by_its_longest_run_free_of_filter_characters():
    assert xero_search_term('Bob "The Builder" & Sons') == "The Builder"


def test_empty_names_fall_back_to_company_email_then_keap_id():
    assert contact_base_name(contact(name=" ", company="Acme")) == "Acme"
    assert contact_base_name(contact(name="", email="a@b.co")) == "a@b.co"
    assert contact_base_name(contact(name="", email=None, keap_id="9")) == "Keap contact 9"


def test_long_names_are_trimmed_before_the_suffix_so_the_id_survives():
    name = disambiguated_name("x" * 300, "1234", 255)
    assert len(name) == 255
    assert name.endswith(" (Keap 1234)")


def test_qbo_display_names_drop_colons_and_disambiguate_the_same_way():
    shop = contact(name="Shop: Main St", keap_id="42")
    assert qbo_display_name(shop) == "Shop - Main St"
    assert qbo_display_name(shop, ["shop - main st"]) == "Shop - Main St (Keap 42)"
