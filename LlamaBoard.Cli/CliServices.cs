using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Export;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Training;

namespace LlamaBoard.Cli;

/// <summary>
/// The engine parts the commands use, gathered in one place so that each part plugs in with one line in
/// <see cref="Default"/> and tests can substitute fakes.
/// </summary>
public sealed class CliServices
{
    /// <summary>
    /// What <c>llamaboard</c> runs with. Engine parts that are not built yet are null; their commands validate the
    /// configuration and then say so (exit code <see cref="ExitCodes.NotBuilt"/>).
    /// </summary>
    public static CliServices Default { get; } = new()
    {
        CreateTrainer = () => new TrainingRunner(),
        CreateExporter = static () => new ModelExporter(),
        CreateChatEngine = (options, adapters, log) => ChatEngineLoader.Load(options, adapters, log),
    };

    /// <summary>Creates the trainer for <c>llamaboard train</c>; null while the trainer is not built.</summary>
    public Func<ITrainingRunner>? CreateTrainer { get; init; }

    /// <summary>Creates the exporter for <c>llamaboard export</c>; null while the exporter is not built.</summary>
    public Func<IModelExporter>? CreateExporter { get; init; }
    /// <summary>
    /// Loads the model, adapters and template for <c>llamaboard chat</c> and <c>api</c> (options, extra named adapters,
    /// a log line sink); null while inference is not built.
    /// </summary>
    public Func<LlamaBoardOptions, IReadOnlyList<AdapterSpec>, Action<string>, ChatEngine>? CreateChatEngine { get; init; }

    /// <summary>Checks that need more than the options (datasets in dataset_info.json, model folders, …).</summary>
    public IReadOnlyList<IOptionsCheck> Checks { get; init; } = [];

    /// <summary>Where Ctrl+C comes from.</summary>
    public IInterruptSource Interrupts { get; init; } = new ConsoleInterrupts();

    /// <summary>What <c>llamaboard chat</c> reads the user's lines from.</summary>
    public TextReader Input { get; init; } = Console.In;

    /// <summary>Environment variables (API_HOST, API_PORT, API_KEY, API_MODEL_NAME); tests substitute their own.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>Called once <c>llamaboard api</c> listens, with its address (tests use it to connect).</summary>
    public Action<Uri>? ApiStarted { get; init; }
}
