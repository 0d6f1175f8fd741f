namespace LlamaBoard.Engine.Training.Optimizers;

/// <summary>GaLore's hyper-parameters (LLaMA-Factory's galore_* keys).</summary>
/// <param name="Rank">galore_rank: rank r of the projected gradients.</param>
/// <param name="UpdateInterval">galore_update_interval: steps between SVD refreshes of the projector.</param>
/// <param name="Scale">galore_scale: factor applied to the update projected back to full rank.</param>
/// <param name="Targets">Names of the parameters whose gradients are projected (2-D weights of the target modules).</param>
/// <param name="Layerwise">galore_layerwise: per-parameter updates without gradient clipping.</param>
public sealed record GaLoreSettings(int Rank, int UpdateInterval, double Scale, IReadOnlySet<string> Targets, bool Layerwise = false)
{
    /// <summary>Checks the values, naming the key at fault.</summary>
    public void Validate()
    {
        if (Rank < 1) throw new ArgumentException($"galore_rank: {Rank} must be at least 1.");
        if (UpdateInterval < 1) throw new ArgumentException($"galore_update_interval: {UpdateInterval} must be at least 1.");
        if (Scale <= 0) throw new ArgumentException($"galore_scale: {Scale} must be positive.");
    }
}
