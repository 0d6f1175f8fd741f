using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training;

/// <summary>
/// Activation checkpointing for one block (TorchSharp has no <c>torch.utils.checkpoint</c>): the forward pass runs
/// without building a graph and keeps only the block's input; the backward pass runs the block again with grad
/// enabled and asks autograd for the gradients of the input and the block's trainable parameters.
/// </summary>
/// <remarks>
/// Memory: instead of every intermediate activation of every layer (attention scores, MLP hidden states), only one
/// (B, T, H) tensor per layer lives between forward and backward; one layer's activations exist at a time during
/// backward. Cost: one extra forward per layer. The CPU random-number state is captured before the forward and
/// restored for the recomputation so that dropout masks (drawn from the CPU generator by design) are identical.
/// </remarks>
public static class ActivationCheckpoint
{
    /// <summary>
    /// Runs <paramref name="block"/> on <paramref name="input"/> with checkpointing when grad is enabled and something
    /// needs a gradient; otherwise just runs it.
    /// </summary>
    /// <param name="block">The block's computation; it must depend on trainable state only through <paramref name="parameters"/>.</param>
    /// <param name="input">The block input (B, T, H); may or may not require grad.</param>
    /// <param name="parameters">The block's trainable parameters (those with requires_grad).</param>
    public static Tensor Run(Func<Tensor, Tensor> block, Tensor input, IReadOnlyList<Tensor> parameters)
    {
        if (!torch.is_grad_enabled() || (!input.requires_grad && parameters.Count == 0))
            return block(input);
        var arguments = new object[2 + parameters.Count];
        arguments[0] = new BlockState(block, parameters.Count, input.requires_grad);
        arguments[1] = input;
        for (int i = 0; i < parameters.Count; i++) arguments[2 + i] = parameters[i];
        return CheckpointFunction.apply(arguments);
    }

    sealed record BlockState(Func<Tensor, Tensor> Block, int ParameterCount, bool InputNeedsGrad);

    sealed class CheckpointFunction : autograd.SingleTensorFunction<CheckpointFunction>
    {
        public override string Name => "ActivationCheckpoint";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var state = (BlockState)vars[0];
            var input = (Tensor)vars[1];
            var saved = new List<Tensor>(1 + state.ParameterCount) { input };
            for (int i = 0; i < state.ParameterCount; i++) saved.Add((Tensor)vars[2 + i]);
            ctx.save_for_backward(saved);
            ctx.save_data("state", state);
            // Kept as bytes: a tensor in the context's data would die with the caller's dispose scope.
            using (var rng = torch.get_rng_state()) ctx.save_data("rng", rng.data<byte>().ToArray());
            // TorchSharp runs custom forwards with grad disabled: no graph is built here.
            return state.Block(input);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var state = (BlockState)ctx.get_data("state");
            using var rngAtForward = torch.tensor((byte[])ctx.get_data("rng"), dtype: ScalarType.Byte);
            var saved = ctx.get_saved_variables();
            var parameters = saved.Skip(1).ToList();

            using var rngNow = torch.get_rng_state();
            torch.set_rng_state(rngAtForward);
            Tensor output;
            Tensor input;
            using (torch.enable_grad())
            {
                input = saved[0].detach().requires_grad_(state.InputNeedsGrad);
                output = state.Block(input);
            }
            torch.set_rng_state(rngNow);

            var wrt = new List<Tensor>(parameters.Count + 1);
            if (state.InputNeedsGrad) wrt.Add(input);
            wrt.AddRange(parameters);
            var grads = torch.autograd.grad([output], wrt, [gradOutput], allow_unused: true);

            // One gradient per forward argument: the BlockState (none), the input, then each parameter.
            var result = new List<Tensor> { null!, state.InputNeedsGrad ? grads[0] : null! };
            result.AddRange(grads.Skip(state.InputNeedsGrad ? 1 : 0));
            return result;
        }
    }
}
