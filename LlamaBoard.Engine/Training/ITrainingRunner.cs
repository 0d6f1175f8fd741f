using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Engine.Training;

/// <summary>
/// The trainer as its callers see it: the command line (<c>llamaboard train</c>) and the board's job service
/// hand it validated options, listen to its events, and ask it to stop.
/// </summary>
/// <remarks>
/// Contract:
/// <list type="bullet">
/// <item>The stage comes from <c>options.Finetuning.Stage</c>; the options have passed
/// <see cref="OptionsValidator.Validate(LlamaBoardOptions, OptionsPurpose, IEnumerable{IOptionsCheck})"/> with
/// <see cref="OptionsPurpose.Train"/>.</item>
/// <item>Events are reported in order, from the training thread, through <c>progress.Report</c>; a
/// <see cref="StepCompleted"/> for every optimizer step, then <see cref="TrainingFinished"/> last.</item>
/// <item>Cancelling <c>stopRequested</c> asks for a graceful stop: finish the current optimizer step, save a resumable
/// checkpoint, report it, and return <see cref="TrainingOutcome.Stopped"/>. It is not an error.</item>
/// <item>Failures (missing files, bad data, out of memory) are thrown as exceptions whose message says what went
/// wrong and what to do; callers print the message.</item>
/// </list>
/// </remarks>
public interface ITrainingRunner
{
    /// <summary>Runs the training, evaluation or prediction described by <paramref name="options"/>.</summary>
    Task<TrainingResult> RunAsync(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stopRequested);
}

/// <summary>How a run ended (failures are exceptions, not outcomes).</summary>
public enum TrainingOutcome
{
    /// <summary>All steps ran and the final model or adapter was saved.</summary>
    Completed,
    /// <summary>Stopped on request at a step boundary, leaving a resumable checkpoint.</summary>
    Stopped,
}

/// <summary>The end of a run.</summary>
/// <param name="Outcome">Completed or stopped.</param>
/// <param name="Step">The last optimizer step that ran.</param>
/// <param name="OutputDir">Where the run wrote its files.</param>
/// <param name="CheckpointDir">The last checkpoint folder (to resume from); null when none was written.</param>
public sealed record TrainingResult(TrainingOutcome Outcome, int Step, string OutputDir, string? CheckpointDir);
