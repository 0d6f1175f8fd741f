using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Checkpoints;

namespace LlamaBoard.Engine.Training;

/// <summary>
/// HF Trainer's <c>trainer_state.json</c> (global step, epoch, log history, settings), written into every
/// checkpoint and the output folder, so tools that read HF/LLaMA-Factory runs read ours.
/// </summary>
public sealed class TrainerState
{
    /// <summary>The file name.</summary>
    public const string FileName = "trainer_state.json";

    /// <summary>Optimizer steps done.</summary>
    public long GlobalStep { get; set; }
    /// <summary>Fractional epoch reached.</summary>
    public double Epoch { get; set; }
    /// <summary>Steps of the whole run.</summary>
    public long MaxSteps { get; set; }
    /// <summary>Epochs of the whole run.</summary>
    public double NumTrainEpochs { get; set; }
    /// <summary>logging_steps.</summary>
    public int LoggingSteps { get; set; }
    /// <summary>save_steps.</summary>
    public int SaveSteps { get; set; }
    /// <summary>eval_steps.</summary>
    public int? EvalSteps { get; set; }
    /// <summary>per_device_train_batch_size.</summary>
    public int TrainBatchSize { get; set; }
    /// <summary>Non-padding input tokens seen.</summary>
    public long NumInputTokensSeen { get; set; }
    /// <summary>Lowest eval loss so far.</summary>
    public double? BestMetric { get; set; }
    /// <summary>The checkpoint folder of the best eval loss.</summary>
    public string? BestModelCheckpoint { get; set; }
    /// <summary>Every logged record, in HF's key names (loss, learning_rate, grad_norm, epoch, step, eval_loss, …).</summary>
    public List<JsonObject> LogHistory { get; } = [];

    /// <summary>The JSON HF writes.</summary>
    public JsonObject ToJson() => new()
    {
        ["best_metric"] = BestMetric,
        ["best_model_checkpoint"] = BestModelCheckpoint,
        ["epoch"] = Epoch,
        ["eval_steps"] = EvalSteps,
        ["global_step"] = GlobalStep,
        ["is_hyper_param_search"] = false,
        ["is_local_process_zero"] = true,
        ["is_world_process_zero"] = true,
        ["log_history"] = new JsonArray(LogHistory.Select(r => (JsonNode)r.DeepClone()).ToArray()),
        ["logging_steps"] = LoggingSteps,
        ["max_steps"] = MaxSteps,
        ["num_input_tokens_seen"] = NumInputTokensSeen,
        ["num_train_epochs"] = NumTrainEpochs,
        ["save_steps"] = SaveSteps,
        ["total_flos"] = 0,
        ["train_batch_size"] = TrainBatchSize,
        ["trial_name"] = null,
        ["trial_params"] = null,
    };

    /// <summary>Writes the state to <paramref name="folder"/> atomically.</summary>
    public void Save(string folder) =>
        AtomicFile.WriteAllText(Path.Combine(folder, FileName), ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Reads <c>trainer_state.json</c> from <paramref name="folder"/>.</summary>
    /// <exception cref="InvalidDataException">Missing or damaged file; the message names it.</exception>
    public static TrainerState Load(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: not found; is '{folder}' a checkpoint folder?");
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            var state = new TrainerState
            {
                GlobalStep = json["global_step"]!.GetValue<long>(),
                Epoch = json["epoch"]?.GetValue<double>() ?? 0,
                MaxSteps = json["max_steps"]?.GetValue<long>() ?? 0,
                NumTrainEpochs = json["num_train_epochs"]?.GetValue<double>() ?? 0,
                LoggingSteps = json["logging_steps"]?.GetValue<int>() ?? 0,
                SaveSteps = json["save_steps"]?.GetValue<int>() ?? 0,
                EvalSteps = json["eval_steps"]?.GetValue<int?>(),
                TrainBatchSize = json["train_batch_size"]?.GetValue<int>() ?? 0,
                NumInputTokensSeen = json["num_input_tokens_seen"]?.GetValue<long>() ?? 0,
                BestMetric = json["best_metric"]?.GetValue<double?>(),
                BestModelCheckpoint = json["best_model_checkpoint"]?.GetValue<string?>(),
            };
            if (json["log_history"] is JsonArray history)
                state.LogHistory.AddRange(history.Select(r => r!.AsObject().DeepClone().AsObject()));
            return state;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidDataException($"{path}: damaged ({e.Message}).");
        }
    }
}
