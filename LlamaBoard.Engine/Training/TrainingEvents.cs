using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Engine.Training;

/// <summary>
/// Something that happened during a run. The command line draws its progress display from these, the board
/// streams them to browsers and stores them, and trainer_log.jsonl records them with LLaMA-Factory's field names.
/// </summary>
public abstract record TrainingEvent;

/// <summary>The run is set up and about to take its first step.</summary>
/// <param name="Stage">The training stage.</param>
/// <param name="TotalSteps">Optimizer steps the run will take.</param>
/// <param name="Epochs">Passes over the data those steps amount to.</param>
/// <param name="TrainableParameters">Parameters that receive gradients.</param>
/// <param name="TotalParameters">All parameters of the model (adapters included).</param>
/// <param name="Device">The device, as TorchSharp names it ("cpu", "cuda:0").</param>
/// <param name="OutputDir">Where the run writes.</param>
/// <param name="StartStep">0 for a fresh run; the checkpoint's step when resuming.</param>
public sealed record TrainingStarted(TrainingStage Stage, int TotalSteps, double Epochs, long TrainableParameters, long TotalParameters,
                                     string Device, string OutputDir, int StartStep = 0) : TrainingEvent;

/// <summary>One optimizer step finished.</summary>
/// <param name="Step">1-based step number (LLaMA-Factory's current_steps).</param>
/// <param name="TotalSteps">Steps of the whole run (total_steps).</param>
/// <param name="Epoch">Fractional epoch reached.</param>
/// <param name="Loss">Training loss of this step (averaged over its accumulation passes).</param>
/// <param name="LearningRate">Learning rate used for this step.</param>
/// <param name="GradNorm">Global gradient norm before clipping; null when not computed.</param>
/// <param name="TokensPerSecond">Throughput over recent steps (throughput).</param>
/// <param name="TotalTokens">Tokens seen so far (total_tokens).</param>
/// <param name="MemoryBytes">Memory in use: the GPU's when training on one, else the process's resident memory; null if unknown.</param>
/// <param name="Elapsed">Time since the run started.</param>
/// <param name="Remaining">Estimated time to the end; null lets the display estimate it from the pace so far.</param>
/// <param name="Metrics">
/// The stage's own metrics, averaged like the loss, under TRL's names: rewards/chosen, rewards/rejected,
/// rewards/accuracies, rewards/margins, logps/…, logits/… (dpo, kto), accuracy and margin (rm), reward, kl,
/// entropy and the PPO losses (ppo); null or empty for language-model stages.
/// </param>
public sealed record StepCompleted(int Step, int TotalSteps, double Epoch, double Loss, double LearningRate, double? GradNorm,
                                   double TokensPerSecond, long TotalTokens, long? MemoryBytes, TimeSpan Elapsed,
                                   TimeSpan? Remaining = null, IReadOnlyDictionary<string, double>? Metrics = null) : TrainingEvent;

/// <summary>An evaluation finished.</summary>
/// <param name="Step">The step it ran after.</param>
/// <param name="EvalLoss">Loss on the evaluation data.</param>
/// <param name="Metrics">Further metrics by name (accuracy, bleu-4, rouge-l, …); may be empty.</param>
public sealed record EvaluationCompleted(int Step, double EvalLoss, IReadOnlyDictionary<string, double> Metrics) : TrainingEvent;

/// <summary>A checkpoint was written.</summary>
/// <param name="Step">The step it holds.</param>
/// <param name="Path">Its folder.</param>
public sealed record CheckpointSaved(int Step, string Path) : TrainingEvent;

/// <summary>Importance of a <see cref="TrainingLog"/> line.</summary>
public enum TrainingLogLevel
{
    Info,
    Warning,
}

/// <summary>A line for the run's log (running_log.txt and the display).</summary>
public sealed record TrainingLog(TrainingLogLevel Level, string Message) : TrainingEvent;

/// <summary>The run ended (always the last event).</summary>
/// <param name="Outcome">Completed or stopped.</param>
/// <param name="Step">The last step that ran.</param>
/// <param name="Elapsed">Wall time of the run.</param>
public sealed record TrainingFinished(TrainingOutcome Outcome, int Step, TimeSpan Elapsed) : TrainingEvent;
