"""Model behaviour (audiocraft / x-transformers style): causality, stepwise == full, overfitting,
save and load. Every family, tiny configs."""

import pytest
import torch

from tunelab.errors import ConfigError
from tunelab.models import ModelConfig, build, sequence_families

FAMILIES = sequence_families()  # the study's window models have their own tests below

V = 24


def tiny(family, seed=0):
    torch.manual_seed(seed)
    return build(ModelConfig.tiny(family, V))


@pytest.mark.parametrize("family", FAMILIES)
def test_causal_by_gradient(family):
    model = tiny(family).eval()
    emb = model.embed.weight
    ids = torch.randint(1, V, (1, 10))
    x = model.embed(ids).detach().requires_grad_(True)
    model.embed = _Fixed(x)  # feed embeddings we can differentiate against
    logits, _ = model(ids)
    logits[0, 4].sum().backward()
    grad = x.grad[0].abs().sum(dim=-1)
    assert grad[:5].sum() > 0 and torch.all(grad[5:] == 0), grad
    model.embed = torch.nn.Embedding.from_pretrained(emb)


class _Fixed(torch.nn.Module):
    def __init__(self, x):
        super().__init__()
        self.x = x

    def forward(self, ids):
        return self.x[:, : ids.shape[1]]


def stepwise(model, ids, **fields):
    """Logits from feeding ``ids`` one step at a time, the state carried (keyword tensors such
    as ``first`` are sliced along time with the ids)."""
    state, steps = None, []
    with torch.no_grad():
        for t in range(ids.shape[1]):
            step = {k: v[:, t : t + 1] for k, v in fields.items()}
            logits, state = model(ids[:, t : t + 1], state, **step)
            steps.append(logits)
    if isinstance(steps[0], list):  # compound: one tensor per field
        return [torch.cat([s[f] for s in steps], dim=1) for f in range(len(steps[0]))]
    return torch.cat(steps, dim=1)


@pytest.mark.parametrize("family", FAMILIES)
def test_stepwise_equals_full_forward(family):
    model = tiny(family).eval()
    ids = torch.randint(1, V, (3, 16))
    full, _ = model(ids)
    assert torch.allclose(full, stepwise(model, ids), atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_tiny_model_overfits_one_batch(family):
    model = tiny(family, seed=1)
    ids = torch.randint(1, V, (4, 12), generator=torch.Generator().manual_seed(3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        logits, _ = model(ids[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05, loss.item()


@pytest.mark.parametrize("family", FAMILIES)
def test_save_and_load_give_identical_logits(family, tmp_path):
    model = tiny(family).eval()
    torch.save({"config": model.config.to_dict(), "state": model.state_dict()}, tmp_path / "m.pt")
    saved = torch.load(tmp_path / "m.pt", weights_only=True)
    back = build(ModelConfig(**saved["config"])).eval()
    back.load_state_dict(saved["state"])
    ids = torch.randint(1, V, (2, 9))
    assert torch.equal(model(ids)[0], back(ids)[0])


def test_bad_config_names_every_problem():
    with pytest.raises(ConfigError) as err:
        ModelConfig(family="mamba", dropout=1.5, n_layers=0)
    message = str(err.value)
    assert "unknown family 'mamba'" in message and "--dropout" in message and "--n-layers" in message


def test_study_presets_have_the_studys_parameter_counts():
    from tunelab.models.study import PRESETS, STUDY_PARAMETERS, trainable_parameters

    for name, cls in PRESETS.items():
        model = cls().eval()
        n = trainable_parameters(model)
        lstm_layers = sum(isinstance(m, torch.nn.LSTM) for m in model.modules())
        # exactly the study's count but for PyTorch's second LSTM bias (4 x 256 a layer)
        assert n - STUDY_PARAMETERS[name] == lstm_layers * 4 * 256, name
        assert abs(n / STUDY_PARAMETERS[name] - 1) < 0.005
        logits, window = model(torch.randint(0, 45, (2, 64)))
        assert logits.shape == (2, 1, 45) and window.shape == (2, 64)  # window -> next token


def test_presets_build_and_name_their_sizes():
    from tunelab.models.study import StudyHybrid

    sizes = {f: sum(p.numel() for p in build(f, 45, preset="small").parameters()) for f in FAMILIES}
    assert all(1e5 < n < 2e6 for n in sizes.values()), sizes  # 0.17 M (rnn) .. 1.3 M (hybrid)
    assert all(sum(p.numel() for p in build(f, 45, preset="tiny").parameters()) < 3e4 for f in FAMILIES)
    assert build("lstm", 45, preset="small", dropout=0.3).config.dropout == 0.3
    assert isinstance(build("study-hybrid"), StudyHybrid)
    with pytest.raises(ConfigError, match="--size must be"):
        build("lstm", 45, preset="huge")
    with pytest.raises(ConfigError, match="unknown family 'study-gpt'"):
        build("study-gpt")


@pytest.mark.parametrize("family", FAMILIES)
def test_compound_models_are_causal_and_stepwise_exact(family):
    sizes = [5, 9, 7]
    torch.manual_seed(0)
    model = build(family, sizes, preset="tiny").eval()
    ids = torch.stack([torch.randint(0, v, (2, 10)) for v in sizes], dim=-1)  # (B, T, F)
    seen = {}

    def keep(module, inputs, out):
        out.retain_grad()
        seen["x"] = out

    hook = model.core.embed.register_forward_hook(keep)
    logits, _ = model(ids, first=ids[..., 0])
    hook.remove()
    sum(field[0, 4].sum() for field in logits).backward()
    grad = seen["x"].grad[0].abs().sum(dim=-1)
    assert grad[:5].sum() > 0 and torch.all(grad[5:] == 0), grad
    assert [f.shape[-1] for f in logits] == sizes
    steps = stepwise(model, ids, first=ids[..., 0])
    for f in range(len(sizes)):
        assert torch.allclose(logits[f], steps[f], atol=1e-5)


def test_pitch_first_conditions_the_other_heads_on_the_pitch():
    torch.manual_seed(0)
    model = build("gru", [4, 6, 8], preset="tiny", first_field=2).eval()
    ids = torch.stack([torch.randint(0, v, (1, 5)) for v in (4, 6, 8)], dim=-1)
    a, _ = model(ids, first=torch.zeros(1, 5, dtype=torch.long))
    b, _ = model(ids, first=torch.ones(1, 5, dtype=torch.long))
    assert torch.equal(a[2], b[2])  # the first head does not see its own value
    assert not torch.equal(a[0], b[0]) and not torch.equal(a[1], b[1])


@pytest.mark.parametrize("positional", ["learned", "relative", "none"])
def test_position_options_keep_stepwise_equal_to_full(positional):
    torch.manual_seed(0)
    config = ModelConfig(**{**ModelConfig.tiny("transformer", V).to_dict(), "positional": positional})
    model = build(config).eval()
    ids = torch.randint(1, V, (2, 12))
    full, _ = model(ids)
    assert torch.allclose(full, stepwise(model, ids), atol=1e-5)
    if positional == "relative":  # the same weights without the distance biases differ
        plain = build(ModelConfig(**{**config.to_dict(), "positional": "none"})).eval()
        plain.load_state_dict(model.state_dict())
        assert not torch.allclose(plain(ids)[0], full, atol=1e-3)
        assert torch.allclose(plain(ids[:, :1])[0], full[:, :1], atol=1e-6)  # one token: no distances


@pytest.mark.parametrize("family", ["transformer", "hybrid"])
@pytest.mark.parametrize("positional", ["sinusoidal", "relative"])
def test_wide_heads_cache_inputs_and_stay_stepwise_exact(family, positional):
    torch.manual_seed(0)
    config = ModelConfig(
        **{**ModelConfig.tiny(family, V).to_dict(), "head_dim": 24, "positional": positional}
    )
    model = build(config).eval()
    assert model.blocks[0].absorb and model.blocks[0].qkv.out_features == 3 * 4 * 24
    ids = torch.randint(1, V, (2, 12))
    full, _ = model(ids)
    assert torch.allclose(full, stepwise(model, ids), atol=1e-5)


def test_the_causal_transformer_at_the_study_size_has_the_study_parameter_count():
    model = build(
        ModelConfig(
            family="transformer", vocab_size=45, d_model=256, n_layers=4, n_heads=8, head_dim=256, d_ff=1024
        )
    )
    n = sum(p.numel() for p in model.parameters())
    assert abs(n - 10_543_917) / 10_543_917 < 0.005, n


def test_a_onehot_embedding_is_the_frozen_identity_and_steps_like_the_whole():
    """The study's "no embedding" ablation: one-hot ids straight into the encoder."""
    torch.manual_seed(0)
    model = build(ModelConfig(family="hybrid", vocab_size=12, d_model=12, n_heads=2, head_dim=8,
                              encoder_layers=1, hidden_size=16, d_ff=16, embedding="onehot"))  # fmt: skip
    assert torch.equal(model.embed.weight, torch.eye(12)) and not model.embed.weight.requires_grad
    ids = torch.randint(1, 12, (2, 9))
    model(ids)[0].sum().backward()
    torch.optim.Adam([p for p in model.parameters() if p.requires_grad]).step()
    assert torch.equal(model.embed.weight, torch.eye(12))
    model.eval()
    with torch.no_grad():
        whole, _ = model(ids)
        _, state = model(ids[:, :5])
        steps = []
        for t in range(5, 9):
            logits, state = model(ids[:, t : t + 1], state)
            steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, 1), whole[:, 5:], atol=1e-5, rtol=0)
    with pytest.raises(ConfigError, match="onehot"):
        ModelConfig(family="hybrid", vocab_size=12, d_model=16, embedding="onehot")


@pytest.mark.parametrize("family", FAMILIES)
def test_a_family_that_carries_state_defines_how_to_select_it(family):
    from tunelab.models.base import SequenceModel
    from tunelab.models.registry import family_class

    cls = family_class(family)
    if cls.carries_state:
        assert cls.select_state is not SequenceModel.select_state, family
    else:
        assert cls.select_state(cls.__new__(cls), None, None) is None
