from workbench.ui.narrate import story_of


def test_each_step_says_what_crossed_what_happened_and_which_keys(make_run):
    run = make_run()
    run.connect()
    start = run.story()
    assert "start_handshake" in start.title
    assert "queued 1 record" in start.sent
    run.step()
    first = run.story()
    assert first.title == "Step 1: client → server: ClientHello"
    assert "in the clear" in first.sent
    assert "The server read ClientHello." in first.happened
    assert first.keys["server"].read == "handshake" and first.keys["client"].write == "plaintext"
    assert any(line.startswith("ClientHello:") for line in first.why)
    assert any("The server now decrypts what the client sends with handshake keys" in line for line in first.why)
    assert any(line.startswith("server: handshake secret ← early secret + (EC)DHE") for line in first.derived)
    run.step()
    run.step()
    third = run.story()
    assert "EncryptedExtensions, Certificate, CertificateVerify, Finished" in third.title
    assert "encrypted under the sender's handshake keys" in third.sent
    assert third.keys["client"].read == "application-0"


def test_a_key_update_is_explained(tls13_story):
    entries = [e for e in tls13_story.connections[0].pair.history if getattr(e, "name", "") == "do_handshake"]
    story = story_of(entries[0])
    assert any("sent KeyUpdate" in line and "asks the peer to update too" in line for line in story.happened)


def test_a_refused_record_is_the_error_of_the_story(make_run):
    run = make_run()
    run.connect()
    pair = run.current.pair
    run.step()
    step = pair.step(modify=lambda record: record[:-1] + bytes([record[-1] ^ 1]))   # ServerHello altered
    story = story_of(step)
    assert story.error and story.error.startswith("The client refused the record")
