using LlamaBoard.Engine.Training;

namespace LlamaBoard.Web.Jobs;

/// <summary>
/// How the job service gets a trainer. Engine parts that are not in this build leave <see cref="Create"/> null; the
/// board then shows Start disabled with <see cref="UnavailableReason"/>. Plugging the trainer in is one line in
/// <see cref="HostingExtensions.AddTrainingJobs"/>; tests register a fake runner here.
/// </summary>
/// <param name="Create">Makes a runner for one job; null while no trainer is available.</param>
public sealed record TrainerRegistration(Func<ITrainingRunner>? Create)
{
    /// <summary>True when jobs can run.</summary>
    public bool IsAvailable => Create is not null;

    /// <summary>Why Start is disabled (shown on the board); null when a trainer is available.</summary>
    public string? UnavailableReason => Create is null
        ? "The trainer is not part of this build yet: the board can prepare, check and save a run, but not start it."
        : null;
}
