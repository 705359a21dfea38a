from workbench.ui.options import EngineFeatures, RunOptions, pair_availability
from workbench.ui.widgets.controls import Controls


def _controls(**options):
    return Controls(EngineFeatures.detect(), pair_availability(), RunOptions(**options))


def test_options_read_back_what_the_controls_show():
    controls = _controls(version="1.3", tickets=3, seed=9, step_mode=False)
    options = controls.options()
    assert (options.version, options.tickets, options.seed, options.step_mode) == ("1.3", 3, 9, False)
    assert options.suite is None and options.group is None
    controls.suite.value = 0x1303
    controls.group.value = 0x0018
    assert controls.options().suite == 0x1303 and controls.options().group == 0x0018


def test_the_suites_follow_the_version():
    controls = _controls()
    names13 = [label for label, _ in controls.suite.options]
    assert names13[0] == "default" and all("ECDHE" not in n for n in names13)
    if EngineFeatures.detect().tls12:
        controls.version.value = "1.2"
        assert any("ECDHE" in label for label, _ in controls.suite.options)
        assert controls.suite.value == 0


def test_the_target_field_shows_for_a_remote_server_only():
    controls = _controls()
    assert controls.target_box.layout.display == "none"
    controls.pair.value = "remote"
    assert controls.target_box.layout.display == "" and controls.step_row.layout.display == "none"
    assert controls.seed.disabled


def test_unavailable_pairs_are_not_offered_and_the_reason_is_shown():
    availability = dict(pair_availability(), **{"gnutls-server": "not installed: gnutls-serv"})
    controls = Controls(EngineFeatures.detect(), availability, RunOptions(pair="gnutls-server"))
    offered = [value for _, value in controls.pair.options]
    assert "gnutls-server" not in offered and "inprocess" in offered
    assert controls.pair.value == "inprocess"
    assert "not installed: gnutls-serv" in controls.unavailable.value


def test_disabled_buttons_explain_themselves():
    controls = _controls()
    controls.set_action_states({"send": None, "key_update": "this engine has no KeyUpdate yet"})
    assert not controls.send.disabled
    assert controls.key_update.disabled and controls.key_update.tooltip == "not now: this engine has no KeyUpdate yet"
    assert controls.close.disabled


def test_every_control_has_a_wb_class():
    controls = _controls()
    for name in ("connect", "send", "key_update", "renegotiate", "save_session", "resume", "close", "restart",
                 "step_record", "step_flight", "run_to_end", "replay", "open_capture", "capture_path",
                 "keylog_path", "progress", "data"):
        assert any(c.startswith("wb-") for c in getattr(controls, name)._dom_classes), name
