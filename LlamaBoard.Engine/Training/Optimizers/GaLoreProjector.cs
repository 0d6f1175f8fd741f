using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Optimizers;

/// <summary>
/// GaLore's projector for one (m, n) weight ("std" projection, Zhao et al. 2024): the gradient G is projected onto
/// its top-r singular directions on the smaller side, and Adam runs in that r-dimensional space.
/// <code>
///   m ≥ n:  P = Vᵀ[:r] (r, n)   low = G·Pᵀ (m, r)   back = low·P · scale
///   m &lt; n:  Q = U[:, :r] (m, r) low = Qᵀ·G (r, n)   back = Q·low · scale
/// </code>
/// The projector is recomputed by SVD of the current gradient at the first step and every update_interval steps.
/// Singular vectors are defined up to sign, and LAPACK builds differ in the sign they return. Within one projector a
/// flip would cancel out, but Adam's moments are carried over a refresh into the new basis, so the run would depend
/// on the SVD routine. Each vector's sign is therefore fixed: its largest-magnitude component is positive.
/// </summary>
internal sealed class GaLoreProjector : IDisposable
{
    readonly int rank;
    readonly int interval;
    readonly double scale;

    public GaLoreProjector(int rank, int interval, double scale)
    {
        this.rank = rank;
        this.interval = interval;
        this.scale = scale;
    }

    /// <summary>The current projection matrix (P or Q), or null before the first step.</summary>
    public Tensor? Matrix { get; private set; }

    /// <summary>True when the projection acts from the right (m ≥ n).</summary>
    public bool Right { get; private set; }

    /// <summary>Projects gradient (m, n) at optimizer step <paramref name="step"/> (0-based), refreshing the projector when due.</summary>
    public Tensor Project(Tensor gradient, long step)
    {
        Right = gradient.shape[0] >= gradient.shape[1];
        if (Matrix is null || step % interval == 0) Refresh(gradient);
        return Right ? gradient.matmul(Matrix!.t()) : Matrix!.t().matmul(gradient);         // (m, r) or (r, n)
    }

    /// <summary>Maps a low-rank update back to (m, n) and scales it.</summary>
    public Tensor ProjectBack(Tensor low) =>
        (Right ? low.matmul(Matrix!) : Matrix!.matmul(low)) * scale;                         // (m, n)

    void Refresh(Tensor gradient)
    {
        using var scope = NewDisposeScope();
        var (u, _, vh) = linalg.svd(gradient.to_type(ScalarType.Float32), fullMatrices: false); // (m, k), (k, n)
        int r = (int)Math.Min(rank, Math.Min(gradient.shape[0], gradient.shape[1]));
        var next = Right ? vh.narrow(0, 0, r) : u.narrow(1, 0, r).t();                        // (r, n) or (r, m)
        var largest = next.abs().argmax(1, keepdim: true);                                    // (r, 1)
        next = next * next.gather(1, largest).sign();                                         // one sign per vector
        if (!Right) next = next.t();                                                          // (m, r)
        Matrix?.Dispose();
        Matrix = next.contiguous().MoveToOuterDisposeScope().DetachFromDisposeScope();
    }

    /// <summary>Restores a saved projector.</summary>
    public void Restore(Tensor matrix, bool right)
    {
        Matrix?.Dispose();
        Matrix = matrix;
        Right = right;
    }

    public void Dispose() => Matrix?.Dispose();
}
