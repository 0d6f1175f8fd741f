using LlamaBoard.Engine.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Preference;

/// <summary>
/// A scalar head on the decoder's final hidden states, as TRL's <c>AutoModelForCausalLMWithValueHead</c> has it:
/// dropout, then <c>summary</c> = Linear(hidden, 1), in fp32. The reward model reads it at the last token of each
/// sequence; PPO's policy reads it at every response position as its value estimate. Saved as
/// <c>value_head.safetensors</c> (<c>v_head.summary.weight</c> (1, H), <c>v_head.summary.bias</c> (1)) next to the
/// adapter or model, where LLaMA-Factory writes and reads it.
/// </summary>
public sealed class ValueHead : nn.Module<Tensor, Tensor>
{
    /// <summary>The file name beside the adapter or model.</summary>
    public const string FileName = "value_head.safetensors";
    /// <summary>State-dict name of the weight.</summary>
    public const string WeightName = "v_head.summary.weight";
    /// <summary>State-dict name of the bias.</summary>
    public const string BiasName = "v_head.summary.bias";
    /// <summary>TRL's default summary_dropout_prob.</summary>
    public const double DefaultDropout = 0.1;

    readonly Linear summary;

    /// <summary>
    /// A fresh head: nn.Linear's default initialisation (drawn from libtorch's global generator, so seeded runs
    /// repeat), as TRL leaves it when no init strategy is given.
    /// </summary>
    public ValueHead(long hiddenSize, Device device, double dropout = DefaultDropout) : base("v_head")
    {
        summary = nn.Linear(hiddenSize, 1, hasBias: true, device: device, dtype: ScalarType.Float32);
        Dropout = dropout;
        RegisterComponents();
    }

    /// <summary>Dropout on the hidden states in training mode (TRL's summary_dropout_prob).</summary>
    public double Dropout { get; }

    /// <summary>Linear weight (1, H), fp32.</summary>
    public Parameter Weight => summary.weight!;

    /// <summary>Linear bias (1), fp32.</summary>
    public Parameter Bias => summary.bias!;

    /// <summary>The parameters under their saved names.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedWeights() => [(WeightName, Weight), (BiasName, Bias)];

    /// <summary>Values (…) from hidden states (…, H), in fp32.</summary>
    public override Tensor forward(Tensor hidden)
    {
        var x = hidden.to_type(ScalarType.Float32);
        if (training && Dropout > 0)
        {
            // Masks from the CPU generator, like LoRA dropout: reproducible on any device and saved with checkpoints.
            var keep = rand(x.shape, dtype: ScalarType.Float32).ge(Dropout).to(x.device);
            x = x * keep / (1 - Dropout);
        }
        return summary.forward(x).squeeze(-1);
    }

    /// <summary>Writes <c>value_head.safetensors</c> into <paramref name="folder"/> atomically.</summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        using var scope = NewDisposeScope();
        SafetensorsWriter.Write(Path.Combine(folder, FileName),
                                [(WeightName, Weight.detach().cpu()), (BiasName, Bias.detach().cpu())],
                                new Dictionary<string, string> { ["format"] = "pt" }, ScalarType.Float32);
    }

    /// <summary>True when <paramref name="folder"/> holds a value head file.</summary>
    public static bool Exists(string folder) => File.Exists(Path.Combine(folder, FileName));

    /// <summary>Reads the head saved in <paramref name="folder"/> into this one.</summary>
    /// <exception cref="InvalidDataException">The file is missing, or a tensor is missing or mis-shaped; the message names it.</exception>
    public void Load(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"{path}: not found; a reward model folder holds the value head that stage rm saves " +
                                           "(train one with stage: rm, or point reward_model at such a folder).");
        using var file = SafetensorsFile.Open(path);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, parameter) in NamedWeights())
        {
            if (!file.Header.Tensors.Any(t => t.Name == name))
                throw new InvalidDataException($"{path}: tensor '{name}' is missing.");
            var info = file.Info(name);
            if (!info.Shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException(
                    $"{path}: '{name}' is [{string.Join(", ", info.Shape)}] but this model needs [{string.Join(", ", parameter.shape)}]; " +
                    "the reward model was trained on a model of another hidden size.");
            parameter.copy_(file.Read(name, ScalarType.Float32, parameter.device));
        }
    }

    /// <summary>A head loaded from <paramref name="folder"/>.</summary>
    public static ValueHead LoadFrom(string folder, long hiddenSize, Device device, double dropout = DefaultDropout)
    {
        var head = new ValueHead(hiddenSize, device, dropout);
        try
        {
            head.Load(folder);
            return head;
        }
        catch
        {
            head.Dispose();
            throw;
        }
    }
}
