using LlamaBoard.Engine.Training;

namespace LlamaBoard.Web.Jobs;

/// <summary>
/// How the job service gets a trainer: <see cref="HostingExtensions.AddTrainingJobs"/> registers the engine's trainer;
/// tests register a fake runner here, or none (then Start is disabled with <see cref="UnavailableReason"/>).
/// </summary>
/// <param name="Create">Makes a runner for one job; null while no trainer is available.</param>
public sealed record TrainerRegistration(Func<ITrainingRunner>? Create)
{
    /// <summary>True when jobs can run.</summary>
    public bool IsAvailable => Create is not null;

    /// <summary>Why Start is disabled (shown on the board); null when a trainer is available.</summary>
    public string? UnavailableReason => Create is null
        ? "No trainer is registered: the board can prepare, check and save a run, but not start it."
        : null;
}
