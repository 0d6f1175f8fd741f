using System.CommandLine;
using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Hub;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Training;
using Spectre.Console;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard estimate &lt;config&gt; [key=value ...]</c>: the peak memory a training run will need, by component,
/// from the model's config.json and the run's method, quantization, optimizer, batch and cutoff_len, before anything
/// is loaded; and whether it fits the device.
/// </summary>
internal static class EstimateCommand
{
    public static Command Create(TextWriter output, TextWriter error, CliServices services)
    {
        var arguments = new ConfigArguments();
        var command = arguments.AddTo(new Command("estimate", "Estimate the peak memory of a training run before launching it."));
        command.SetAction(parseResult =>
        {
            var console = Consoles.For(output);
            var errors = Consoles.For(error);
            var options = arguments.Load(parseResult, OptionsPurpose.Train, services, console, errors, out int exitCode);
            if (options is null) return exitCode;
            string name = options.Model.ModelNameOrPath!;
            if (DemoModel.IsDemoPath(name)) DemoModel.EnsureCreated(name);
            string folder = Directory.Exists(name) ? name
                : HubModelResolver.ResolveAsync(name, HubOptions.FromEnvironment() with { Offline = true }, null, CancellationToken.None)
                                  .GetAwaiter().GetResult();
            TorchRuntime.EnsureInitialized();
            var device = ComputeDevices.Resolve(options.Model.Device);
            var estimate = MemoryEstimator.Estimate(options, folder, device.type);
            var config = HfModelLoader.ReadConfig(folder);
            output.WriteLine($"Memory estimate for {ConfigArguments.Describe(options)}");
            output.WriteLine($"  {config.ModelType}, {config.NumLayers} layers, hidden {config.HiddenSize}: {estimate.TotalParameters:N0} parameters, " +
                             $"{estimate.TrainableParameters:N0} trainable; batch {options.Training.PerDeviceTrainBatchSize} × cutoff_len {options.Data.CutoffLen}, " +
                             $"gradient checkpointing {(options.UseGradientCheckpointing ? "on" : "off")}");
            output.Write(estimate.Format());
            long? capacity = MemoryEstimator.DeviceCapacity(device);
            if (capacity is { } bytes)
                output.WriteLine(estimate.Fits(bytes)
                    ? $"  fits: {device} has {ProcessMemory.Format(bytes)}"
                    : $"  WARNING: more than the {ProcessMemory.Format(bytes)} of {device}; lower the batch or cutoff_len, enable gradient checkpointing, or use LoRA/QLoRA");
            return ExitCodes.Success;
        });
        return command;
    }
}
