namespace LlamaBoard.Web.Monitoring;

/// <summary>
/// The smoothed loss curve, as LLaMA-Factory draws it: an exponential moving average whose weight grows with the
/// number of points (a sigmoid of the length), so short runs are barely smoothed and long runs strongly.
/// </summary>
public static class LossSmoothing
{
    /// <summary>The smoothed values, one per input value.</summary>
    public static double[] Smooth(IReadOnlyList<double> values)
    {
        var smoothed = new double[values.Count];
        if (values.Count == 0) return smoothed;
        double weight = 1.8 * (1 / (1 + Math.Exp(-0.05 * values.Count)) - 0.5);
        double last = values[0];
        for (int i = 0; i < values.Count; i++)
        {
            last = last * weight + (1 - weight) * values[i];
            smoothed[i] = last;
        }
        return smoothed;
    }
}
