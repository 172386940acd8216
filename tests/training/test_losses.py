import math

import numpy as np
import torch

from tunelab.training import masked_accuracy, token_loss


def test_cross_entropy_leaves_padding_out():
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [1 / 3, 1 / 3, 1 / 3]]]))
    targets = torch.tensor([[0, 1, 2]])
    mask = torch.tensor([[True, True, False]])  # the last position is padding
    expected = -(math.log(0.5) + math.log(0.8)) / 2
    assert abs(token_loss(logits, targets, mask).item() - expected) < 1e-6


def test_focal_loss_by_hand_and_its_limits():
    logits = torch.log(torch.tensor([[[0.9, 0.1], [0.2, 0.8]]]))
    targets = torch.tensor([[0, 0]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    # p_t = 0.9 and 0.2; FL = -(1 - p)^2 log p, alpha 0.25
    expected = 0.25 * (-(0.1**2) * math.log(0.9) - (0.8**2) * math.log(0.2)) / 2
    assert abs(token_loss(logits, targets, mask, gamma=2.0, alpha=0.25).item() - expected) < 1e-6
    assert torch.isclose(token_loss(logits, targets, mask, gamma=0.0), token_loss(logits, targets, mask))
    # focusing lowers the weight of the easy example relative to the hard one
    assert token_loss(logits, targets, mask, gamma=2.0) < token_loss(logits, targets, mask)


def test_masked_accuracy_with_a_compound_tokenizers_mask():
    import tunelab.tokenizers as tt
    from tunelab import Score

    tok = tt.get("nb")
    ids = tok.encode(Score.from_notes([(0, 4, 60), (4, 4, 62)], tpq=4, time_signatures=[(0, 2, 4)]))
    targets = torch.tensor(ids)[None]  # (1, T, F)
    mask = torch.tensor(tok.accuracy_mask(ids))[None]
    # perfect predictions on the counted fields, wrong ones where nothing counts
    logits = torch.nn.functional.one_hot(targets, 400).float()
    logits[~mask] = torch.nn.functional.one_hot(torch.zeros_like(targets[~mask]) + 7, 400).float()
    hit, counted = 0, 0
    for f in range(targets.shape[-1]):
        h, c = masked_accuracy(logits[..., f, :], targets[..., f], mask[..., f])
        hit, counted = hit + h, counted + c
    assert hit == counted == int(np.asarray(tok.accuracy_mask(ids)).sum()) > 0
