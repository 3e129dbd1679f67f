// RUN: d2lc-opt %s --split-input-file --verify-diagnostics

func.func @conv_input_rank(%x: tensor<1x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+1 {{'d2l.conv2d' op expects input of rank 4 [N, C_in, H, W] but got 'tensor<1x28x28xf32>'}}
  %0 = d2l.conv2d %x, %w : (tensor<1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<1x6x24x24xf32>
  return
}

// -----

func.func @conv_weight_rank(%x: tensor<1x1x28x28xf32>, %w: tensor<6x5x5xf32>) {
  // expected-error @+1 {{expects weight of rank 4 [C_out, C_in / groups, kH, kW] but got 'tensor<6x5x5xf32>'}}
  %0 = d2l.conv2d %x, %w : (tensor<1x1x28x28xf32>, tensor<6x5x5xf32>) -> tensor<1x6x24x24xf32>
  return
}

// -----

func.func @conv_element_type(%x: tensor<1x1x28x28xf32>, %w: tensor<6x1x5x5xf64>) {
  // expected-error @+1 {{expects weight to have element type 'f32' but got 'tensor<6x1x5x5xf64>'}}
  %0 = d2l.conv2d %x, %w : (tensor<1x1x28x28xf32>, tensor<6x1x5x5xf64>) -> tensor<1x6x24x24xf32>
  return
}

// -----

func.func @conv_stride_count(%x: tensor<1x1x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+1 {{expects 'stride' to have 2 values (height, width) but got [2, 2, 2]}}
  %0 = d2l.conv2d %x, %w {stride = array<i64: 2, 2, 2>} : (tensor<1x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<1x6x12x12xf32>
  return
}

// -----

func.func @conv_stride_zero(%x: tensor<1x1x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+1 {{expects 'stride' values to be at least 1 but got [0, 1]}}
  %0 = d2l.conv2d %x, %w {stride = array<i64: 0, 1>} : (tensor<1x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<1x6x12x12xf32>
  return
}

// -----

func.func @conv_negative_padding(%x: tensor<1x1x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+1 {{expects 'padding' values to be at least 0 but got [-1, 0]}}
  %0 = d2l.conv2d %x, %w {padding = array<i64: -1, 0>} : (tensor<1x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<1x6x22x24xf32>
  return
}

// -----

func.func @conv_dilation(%x: tensor<1x1x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+1 {{expects 'dilation' values to be at least 1 but got [1, 0]}}
  %0 = d2l.conv2d %x, %w {dilation = array<i64: 1, 0>} : (tensor<1x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<1x6x24x24xf32>
  return
}

// -----

func.func @conv_groups(%x: tensor<1x1x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+1 {{expects 'groups' >= 1 but got 0}}
  %0 = d2l.conv2d %x, %w {groups = 0} : (tensor<1x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<1x6x24x24xf32>
  return
}

// -----

func.func @conv_groups_divide(%x: tensor<1x4x28x28xf32>, %w: tensor<6x2x5x5xf32>) {
  // expected-error @+1 {{expects in_channels (4) and out_channels (6) divisible by groups (4)}}
  %0 = d2l.conv2d %x, %w {groups = 4} : (tensor<1x4x28x28xf32>, tensor<6x2x5x5xf32>) -> tensor<1x6x24x24xf32>
  return
}

// -----

func.func @conv_in_channels(%x: tensor<1x3x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+1 {{expects weight dimension 1 to be in_channels / groups = 3 but got weight 'tensor<6x1x5x5xf32>'}}
  %0 = d2l.conv2d %x, %w : (tensor<1x3x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<1x6x24x24xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x1x28x28xf32>, %w: tensor<6x1x5x5xf32>, %b: tensor<5xf32>) {
  // expected-error @+1 {{expects bias of shape [6] but got 'tensor<5xf32>'}}
  %0 = d2l.conv2d %x, %w, %b : (tensor<1x1x28x28xf32>, tensor<6x1x5x5xf32>, tensor<5xf32>) -> tensor<1x6x24x24xf32>
  return
}

// -----

func.func @conv_kernel_too_large(%x: tensor<1x1x4x4xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+1 {{expects the kernel [6, 1, 5, 5] (dilation [1, 1]) to fit in the padded input, but the input is 'tensor<1x1x4x4xf32>' with padding [0, 0]}}
  %0 = d2l.conv2d %x, %w : (tensor<1x1x4x4xf32>, tensor<6x1x5x5xf32>) -> tensor<1x6x1x1xf32>
  return
}

// -----

func.func @conv_result_type(%x: tensor<1x1x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+1 {{'d2l.conv2d' op result 0 has type 'tensor<1x6x28x28xf32>' but the operands and attributes give 'tensor<1x6x24x24xf32>'}}
  %0 = d2l.conv2d %x, %w : (tensor<1x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<1x6x28x28xf32>
  return
}

// -----

func.func @conv_dynamic(%x: tensor<?x1x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor}}
  %0 = d2l.conv2d %x, %w : (tensor<?x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<?x6x24x24xf32>
  return
}

// -----

func.func @conv_transpose_weight(%x: tensor<1x4x5x5xf32>, %w: tensor<3x2x3x3xf32>) {
  // expected-error @+1 {{'d2l.conv_transpose2d' op expects weight dimension 0 to be in_channels = 4 but got weight 'tensor<3x2x3x3xf32>'}}
  %0 = d2l.conv_transpose2d %x, %w : (tensor<1x4x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x2x7x7xf32>
  return
}

// -----

func.func @conv_transpose_output_padding(%x: tensor<1x4x5x5xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{expects output_padding smaller than stride or dilation, but got output_padding [2, 2] with stride [2, 2] and dilation [1, 1]}}
  %0 = d2l.conv_transpose2d %x, %w {stride = array<i64: 2, 2>, output_padding = array<i64: 2, 2>} : (tensor<1x4x5x5xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x13x13xf32>
  return
}

// -----

func.func @conv_transpose_groups(%x: tensor<1x3x5x5xf32>, %w: tensor<3x2x3x3xf32>) {
  // expected-error @+1 {{expects in_channels (3) divisible by groups (2)}}
  %0 = d2l.conv_transpose2d %x, %w {groups = 2} : (tensor<1x3x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @conv_transpose_size(%x: tensor<1x4x1x1xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{expects a positive output size, but input 'tensor<1x4x1x1xf32>' with padding [2, 2] gives -1}}
  %0 = d2l.conv_transpose2d %x, %w {padding = array<i64: 2, 2>} : (tensor<1x4x1x1xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x1x1xf32>
  return
}

// -----

func.func @linear_input(%x: tensor<f32>, %w: tensor<10x784xf32>) {
  // expected-error @+1 {{'d2l.linear' op expects input of rank 1 or more [..., in_features] but got 'tensor<f32>'}}
  %0 = d2l.linear %x, %w : (tensor<f32>, tensor<10x784xf32>) -> tensor<10xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<4x784xf32>, %w: tensor<7840xf32>) {
  // expected-error @+1 {{expects weight of rank 2 [out_features, in_features] but got 'tensor<7840xf32>'}}
  %0 = d2l.linear %x, %w : (tensor<4x784xf32>, tensor<7840xf32>) -> tensor<4x10xf32>
  return
}

// -----

func.func @linear_features(%x: tensor<4x400xf32>, %w: tensor<120x256xf32>) {
  // expected-error @+1 {{expects weight [out_features, 400] to match the input's last dimension, but got weight 'tensor<120x256xf32>' for input 'tensor<4x400xf32>'}}
  %0 = d2l.linear %x, %w : (tensor<4x400xf32>, tensor<120x256xf32>) -> tensor<4x120xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<4x400xf32>, %w: tensor<120x400xf32>, %b: tensor<1x120xf32>) {
  // expected-error @+1 {{expects bias of shape [120] but got 'tensor<1x120xf32>'}}
  %0 = d2l.linear %x, %w, %b : (tensor<4x400xf32>, tensor<120x400xf32>, tensor<1x120xf32>) -> tensor<4x120xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<2x3x4xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+1 {{'d2l.matmul' op expects lhs of rank 2 [M, K] but got 'tensor<2x3x4xf32>'}}
  %0 = d2l.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  return
}

// -----

func.func @matmul_contract(%a: tensor<3x4xf32>, %b: tensor<5x4xf32>) {
  // expected-error @+1 {{expects the contracted dimensions to match, but lhs 'tensor<3x4xf32>' has K = 4 and rhs 'tensor<5x4xf32>' has K = 5}}
  %0 = d2l.matmul %a, %b : (tensor<3x4xf32>, tensor<5x4xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @batch_matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x5xf32>) {
  // expected-error @+1 {{'d2l.batch_matmul' op expects equal batch sizes but got 'tensor<2x3x4xf32>' and 'tensor<3x4x5xf32>'}}
  %0 = d2l.batch_matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x5xf32>
  return
}

// -----

func.func @batch_norm_rank(%x: tensor<6xf32>, %v: tensor<6xf32>) {
  // expected-error @+1 {{'d2l.batch_norm_inference' op expects input of rank 2, 3 or 4 ([N, C], [N, C, L] or [N, C, H, W]) but got 'tensor<6xf32>'}}
  %0 = d2l.batch_norm_inference %x, %v, %v, %v, %v : (tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<6xf32>
  return
}

// -----

func.func @batch_norm_channels(%x: tensor<4x6x3x3xf32>, %v: tensor<6xf32>, %m: tensor<16xf32>) {
  // expected-error @+1 {{expects running_mean of shape [6] but got 'tensor<16xf32>'}}
  %0 = d2l.batch_norm_inference %x, %v, %v, %m, %v : (tensor<4x6x3x3xf32>, tensor<6xf32>, tensor<6xf32>, tensor<16xf32>, tensor<6xf32>) -> tensor<4x6x3x3xf32>
  return
}

// -----

func.func @batch_norm_eps(%x: tensor<4x6xf32>, %v: tensor<6xf32>) {
  // expected-error @+1 {{expects 'eps' > 0 but got 0}}
  %0 = d2l.batch_norm_inference %x, %v, %v, %v, %v {eps = 0.0} : (tensor<4x6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @batch_norm_momentum(%x: tensor<4x6xf32>, %v: tensor<6xf32>) {
  // expected-error @+1 {{'d2l.batch_norm' op expects 'momentum' in [0, 1] but got 1.5}}
  %y, %m, %i, %rm, %rv = d2l.batch_norm %x, %v, %v, %v, %v {momentum = 1.5} : (tensor<4x6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) -> (tensor<4x6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>)
  return
}

// -----

func.func @batch_norm_one_value(%x: tensor<1x120xf32>, %v: tensor<120xf32>) {
  // expected-error @+1 {{expects more than one value per channel in training, but input 'tensor<1x120xf32>' has 1 (as PyTorch, the batch variance needs two)}}
  %y, %m, %i, %rm, %rv = d2l.batch_norm %x, %v, %v, %v, %v : (tensor<1x120xf32>, tensor<120xf32>, tensor<120xf32>, tensor<120xf32>, tensor<120xf32>) -> (tensor<1x120xf32>, tensor<120xf32>, tensor<120xf32>, tensor<120xf32>, tensor<120xf32>)
  return
}

// -----

func.func @pool_kernel(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'d2l.max_pool2d' op expects 'kernel_size' to have 2 values (height, width) but got [2]}}
  %0 = d2l.max_pool2d %x {kernel_size = array<i64: 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  return
}

// -----

func.func @pool_padding(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'d2l.avg_pool2d' op expects padding at most half the kernel size, but got padding [2, 2] for kernel [3, 3]}}
  %0 = d2l.avg_pool2d %x {kernel_size = array<i64: 3, 3>, padding = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x3x3xf32>
  return
}

// -----

func.func @pool_fit(%x: tensor<1x3x2x2xf32>) {
  // expected-error @+1 {{expects the kernel [3, 3] to fit in the padded input, but the input is 'tensor<1x3x2x2xf32>' with padding [0, 0]}}
  %0 = d2l.max_pool2d %x {kernel_size = array<i64: 3, 3>} : (tensor<1x3x2x2xf32>) -> tensor<1x3x1x1xf32>
  return
}

// -----

func.func @adaptive_size(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'d2l.adaptive_avg_pool2d' op expects 'output_size' values to be at least 1 but got [0, 1]}}
  %0 = d2l.adaptive_avg_pool2d %x {output_size = array<i64: 0, 1>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x1x1xf32>
  return
}

// -----

func.func @flatten_dim(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'d2l.flatten' op expects 'start_dim' in [-3, 2] for rank 3 but got 3}}
  %0 = d2l.flatten %x {start_dim = 3} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  return
}

// -----

func.func @flatten_order(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{expects start_dim <= end_dim but got 2 > 1 for input 'tensor<2x3x4xf32>'}}
  %0 = d2l.flatten %x {start_dim = 2, end_dim = 1} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  return
}

// -----

func.func @reshape_two_inferred(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'d2l.reshape' op expects at most one -1 in 'shape' but got [-1, -1]}}
  %0 = d2l.reshape %x {shape = array<i64: -1, -1>} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  return
}

// -----

func.func @reshape_zero(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{expects 'shape' entries >= 1 or -1 but got [0, 24]}}
  %0 = d2l.reshape %x {shape = array<i64: 0, 24>} : (tensor<2x3x4xf32>) -> tensor<1x24xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{expects 'shape' [5, 5] to have 24 elements like the input 'tensor<2x3x4xf32>' but it has 25}}
  %0 = d2l.reshape %x {shape = array<i64: 5, 5>} : (tensor<2x3x4xf32>) -> tensor<5x5xf32>
  return
}

// -----

func.func @reshape_infer(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{cannot infer the -1 in 'shape' [-1, 5]: 24 elements of 'tensor<2x3x4xf32>' are not a multiple of 5}}
  %0 = d2l.reshape %x {shape = array<i64: -1, 5>} : (tensor<2x3x4xf32>) -> tensor<5x5xf32>
  return
}

// -----

func.func @transpose_perm(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'d2l.transpose' op expects 'permutation' to be a permutation of 0..2 but got [0, 0, 1] for input 'tensor<2x3x4xf32>'}}
  %0 = d2l.transpose %x {permutation = array<i64: 0, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<2x2x3xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<2x3x1xf32>) {
  // expected-error @+1 {{'d2l.concat' op expects every input to be a tensor of rank 2 and element type 'f32' but input 1 is 'tensor<2x3x1xf32>'}}
  %0 = d2l.concat %a, %b {dim = 1} : (tensor<2x3xf32>, tensor<2x3x1xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @concat_shape(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) {
  // expected-error @+1 {{expects inputs to agree on every dimension but 1, but input 0 is 'tensor<2x3xf32>' and input 1 is 'tensor<4x3xf32>'}}
  %0 = d2l.concat %a, %b {dim = 1} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @concat_empty() {
  // expected-error @+1 {{'d2l.concat' op expects at least one input}}
  %0 = d2l.concat {dim = 0} : () -> tensor<2xf32>
  return
}

// -----

func.func @slice_step(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{'d2l.slice' op expects 'step' >= 1 but got 0}}
  %0 = d2l.slice %x {dim = 0, start = 0, end = 4, step = 0} : (tensor<8x3xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @slice_empty(%x: tensor<8x3xf32>) {
  // expected-error @+1 {{expects a non-empty slice, but [5:2] of dimension 0 (size 8) selects nothing}}
  %0 = d2l.slice %x {dim = 0, start = 5, end = 2} : (tensor<8x3xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @broadcast_to(%x: tensor<3x2xf32>) {
  // expected-error @+1 {{'d2l.broadcast_to' op cannot broadcast 'tensor<3x2xf32>' to [3, 3] (a dimension must match or be 1, aligned from the last)}}
  %0 = d2l.broadcast_to %x {shape = array<i64: 3, 3>} : (tensor<3x2xf32>) -> tensor<3x3xf32>
  return
}

// -----

func.func @add_broadcast(%a: tensor<4x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'d2l.add' op expects broadcastable shapes but got 'tensor<4x3xf32>' and 'tensor<4xf32>' (a dimension must match or be 1, aligned from the last)}}
  %0 = d2l.add %a, %b : (tensor<4x3xf32>, tensor<4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @mul_element_type(%a: tensor<4x3xf32>, %b: tensor<4x3xf64>) {
  // expected-error @+1 {{'d2l.mul' op expects rhs to have element type 'f32' but got 'tensor<4x3xf64>'}}
  %0 = d2l.mul %a, %b : (tensor<4x3xf32>, tensor<4x3xf64>) -> tensor<4x3xf32>
  return
}

// -----

func.func @relu_type(%a: tensor<4x3xf32>) {
  // expected-error @+1 {{'d2l.relu' op requires the same type for all operands and results}}
  %0 = "d2l.relu"(%a) : (tensor<4x3xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @sum_dims(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'d2l.sum' op expects distinct 'dims' but got [1, -1]}}
  %0 = d2l.sum %x {dims = array<i64: 1, -1>} : (tensor<2x3xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @mean_dims(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'d2l.mean' op expects 'dims' in [-2, 1] for rank 2 but got 2}}
  %0 = d2l.mean %x {dims = array<i64: 2>} : (tensor<2x3xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @softmax_dim(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'d2l.softmax' op expects 'dim' in [-2, 1] for rank 2 but got -3}}
  %0 = d2l.softmax %x {dim = -3} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @cross_entropy_logits(%x: tensor<10xf32>, %l: tensor<1xi64>) {
  // expected-error @+1 {{'d2l.cross_entropy' op expects logits of rank 2 or more [N, C, ...] but got 'tensor<10xf32>'}}
  %0 = d2l.cross_entropy %x, %l : (tensor<10xf32>, tensor<1xi64>) -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_labels(%x: tensor<8x10xf32>, %l: tensor<8x10xi64>) {
  // expected-error @+1 {{expects integer labels of shape [8] (the logits without the class dimension) but got 'tensor<8x10xi64>'}}
  %0 = d2l.cross_entropy %x, %l : (tensor<8x10xf32>, tensor<8x10xi64>) -> tensor<f32>
  return
}

// -----

func.func @mse(%a: tensor<8x1xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'d2l.mse_loss' op expects input and target of the same type but got 'tensor<8x1xf32>' and 'tensor<8xf32>'}}
  %0 = d2l.mse_loss %a, %b : (tensor<8x1xf32>, tensor<8xf32>) -> tensor<f32>
  return
}

// -----

func.func @dropout_p(%x: tensor<8xf32>) {
  // expected-error @+1 {{'d2l.dropout' op expects 'p' in [0, 1) but got 1}}
  %0 = d2l.dropout %x {p = 1.0} : (tensor<8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @dropout_seed(%x: tensor<8xf32>, %s: tensor<2xi64>) {
  // expected-error @+1 {{operand #1 must be 0D tensor of 64-bit signless integer values, but got 'tensor<2xi64>'}}
  %0 = d2l.dropout %x, %s {p = 0.5} : (tensor<8xf32>, tensor<2xi64>) -> tensor<8xf32>
  return
}

// -----

// expected-error @+1 {{expects 'd2l.param' on argument 0 to be a non-empty string, but got 3 : i64}}
func.func @param_name(%w: tensor<3xf32> {d2l.param = 3}) {
  return
}

// -----

// expected-error @+1 {{argument 0 has both 'd2l.input' and 'd2l.param'; an argument is one of parameter, state or input}}
func.func @two_kinds(%w: tensor<3xf32> {d2l.param = "w", d2l.input = "w"}) {
  return
}

// -----

// expected-error @+1 {{duplicate tensor name '0.weight' on arguments 0 and 1}}
func.func @duplicate(%a: tensor<3xf32> {d2l.param = "0.weight"}, %b: tensor<3xf32> {d2l.state = "0.weight"}) {
  return
}

// -----

// expected-error @+1 {{argument 0: unknown initialiser 'he_normal' (expected one of zeros, ones, constant(V), uniform(A, B), normal, normal(STD), normal(MEAN, STD), xavier_uniform, xavier_normal, bilinear)}}
func.func @bad_init(%w: tensor<3x3xf32> {d2l.param = "w", d2l.init = "he_normal"}) {
  return
}

// -----

// expected-error @+1 {{'d2l.init' on argument 0 needs 'd2l.param' or 'd2l.state'}}
func.func @init_on_input(%x: tensor<3x3xf32> {d2l.input = "X", d2l.init = "zeros"}) {
  return
}

// -----

// expected-error @+1 {{argument 0 ('xavier_uniform'): xavier initialisation needs a tensor of rank 2 or more (it computes fan in and fan out), but the tensor has rank 1}}
func.func @xavier_vector(%b: tensor<10xf32> {d2l.param = "0.bias", d2l.init = "xavier_uniform"}) {
  return
}

// -----

// expected-error @+1 {{unknown d2l argument attribute 'd2l.parameter' (expected d2l.param, d2l.state, d2l.input or d2l.init)}}
func.func @unknown_arg_attr(%w: tensor<3xf32> {d2l.parameter = "w"}) {
  return
}

// -----

// expected-error @+1 {{unknown d2l result attribute 'd2l.name' (expected d2l.output, d2l.param or d2l.state)}}
func.func @unknown_result_attr(%w: tensor<3xf32>) -> (tensor<3xf32> {d2l.name = "y"}) {
  return %w : tensor<3xf32>
}

// -----

// expected-error @+1 {{duplicate result name 'y' on results 0 and 1}}
func.func @duplicate_result(%w: tensor<3xf32>) -> (tensor<3xf32> {d2l.output = "y"}, tensor<3xf32> {d2l.output = "y"}) {
  return %w, %w : tensor<3xf32>, tensor<3xf32>
}

// -----

func.func @batch_stats_running_mean(%x: tensor<2x3x4x4xf32>, %w: tensor<4x3x3x3xf32>, %m: tensor<3xf32>, %v: tensor<4xf32>) {
  // expected-error @+1 {{'d2l.conv2d_batch_stats' op expects running_mean}}
  %y:5 = d2l.conv2d_batch_stats %x, %w, %m, %v : (tensor<2x3x4x4xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>, tensor<4xf32>) -> (tensor<2x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @act_backward_kind(%da: tensor<2x4xf32>, %c: tensor<4xf32>) {
  // expected-error @+1 {{'d2l.batch_norm_act_backward' op expects 'activation' none, relu, sigmoid or tanh but got 'gelu'}}
  %r:3 = d2l.batch_norm_act_backward %da, %da, %c, %c, %c, %c {activation = "gelu"} : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @fused_not_elementwise(%x: tensor<4x3xf32>) -> tensor<3xf32> {
  %r = d2l.fused "elementwise"(%x) : (tensor<4x3xf32>) -> tensor<3xf32> {
  ^bb0(%a: tensor<4x3xf32>):
    // expected-error @+1 {{'d2l.sum' op is not elementwise and cannot be in a 'elementwise' group}}
    %0 = d2l.sum %a {dims = array<i64: 0>} : (tensor<4x3xf32>) -> tensor<3xf32>
    d2l.yield %0 : tensor<3xf32>
  }
  return %r : tensor<3xf32>
}

// -----

func.func @fused_kind(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'d2l.fused' op has unknown kind 'loop' (expected elementwise, epilogue or multi)}}
  %r = d2l.fused "loop"(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    d2l.yield %a : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @fused_yield_types(%x: tensor<4xf32>) -> tensor<4xf64> {
  // expected-error @+1 {{'d2l.fused' op yields 'tensor<4xf32>' but returns 'tensor<4xf64>'}}
  %r = d2l.fused "elementwise"(%x) : (tensor<4xf32>) -> tensor<4xf64> {
  ^bb0(%a: tensor<4xf32>):
    %0 = d2l.exp %a : tensor<4xf32>
    d2l.yield %0 : tensor<4xf32>
  }
  return %r : tensor<4xf64>
}

// -----

func.func @epilogue_root(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = d2l.fused "epilogue"(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    // expected-error @+1 {{'d2l.exp' op cannot start an epilogue group}}
    %0 = d2l.exp %a : tensor<4xf32>
    d2l.yield %0 : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @embedding_float_indices(%ids: tensor<4xf32>, %w: tensor<28x32xf32>) {
  // expected-error @+1 {{'d2l.embedding' op operand #0 must be statically shaped tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<4xf32>'}}
  %0 = d2l.embedding %ids, %w : (tensor<4xf32>, tensor<28x32xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @embedding_table_rank(%ids: tensor<4xi64>, %w: tensor<28xf32>) {
  // expected-error @+1 {{'d2l.embedding' op expects a weight table [num_embeddings, dim] but got 'tensor<28xf32>'}}
  %0 = d2l.embedding %ids, %w : (tensor<4xi64>, tensor<28xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @embedding_backward_shape(%g: tensor<4x3x32xf32>, %ids: tensor<4xi64>) {
  // expected-error @+1 {{'d2l.embedding_backward' op expects grad_output of the indices' shape [4] and one more dimension but got 'tensor<4x3x32xf32>'}}
  %0 = d2l.embedding_backward %g, %ids {num_embeddings = 28} : (tensor<4x3x32xf32>, tensor<4xi64>) -> tensor<28x32xf32>
  return
}

// -----

func.func @masked_softmax_lens(%x: tensor<8x4x6xf32>, %l: tensor<4xi64>) {
  // expected-error @+1 {{'d2l.masked_softmax' op expects integer valid_lens of shape [8] or [8, 4] but got 'tensor<4xi64>'}}
  %0 = d2l.masked_softmax %x, %l : (tensor<8x4x6xf32>, tensor<4xi64>) -> tensor<8x4x6xf32>
  return
}

// -----

func.func @masked_softmax_rank(%x: tensor<8x6xf32>, %l: tensor<8xi64>) {
  // expected-error @+1 {{'d2l.masked_softmax' op expects scores of shape [B, Q, K] but got 'tensor<8x6xf32>'}}
  %0 = d2l.masked_softmax %x, %l : (tensor<8x6xf32>, tensor<8xi64>) -> tensor<8x6xf32>
  return
}

// -----

func.func @layer_norm_weight(%x: tensor<4x8xf32>, %w: tensor<4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'d2l.layer_norm' op expects weight of shape [8] but got 'tensor<4xf32>'}}
  %y, %m, %s = d2l.layer_norm %x, %w, %b : (tensor<4x8xf32>, tensor<4xf32>, tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @layer_norm_backward_stats(%g: tensor<4x8xf32>, %x: tensor<4x8xf32>, %w: tensor<8xf32>, %m: tensor<8xf32>) {
  // expected-error @+1 {{'d2l.layer_norm_backward' op expects mean and rstd of type 'tensor<4xf32>' but got 'tensor<8xf32>' and 'tensor<8xf32>'}}
  %0:3 = d2l.layer_norm_backward %g, %x, %w, %m, %m : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

func.func @scan_steps(%h0: tensor<2xf32>, %a: tensor<5x2xf32>, %b: tensor<4x2xf32>) {
  // expected-error @+1 {{'d2l.scan' op sequence 1 has 4 steps but sequence 0 has 5}}
  %h = d2l.scan (%h0) over (%a, %b) : (tensor<2xf32>, tensor<5x2xf32>, tensor<4x2xf32>) -> (tensor<2xf32>) {
  ^bb0(%hp: tensor<2xf32>, %x: tensor<2xf32>, %y: tensor<2xf32>):
    d2l.yield %hp : tensor<2xf32>
  }
  return
}

// -----

func.func @scan_yield(%h0: tensor<2xf32>, %a: tensor<5x3xf32>) {
  // expected-error @+1 {{'d2l.scan' op body must yield the carried values 'tensor<2xf32>' first but yields 'tensor<3xf32>'}}
  %h = d2l.scan (%h0) over (%a) : (tensor<2xf32>, tensor<5x3xf32>) -> (tensor<3xf32>) {
  ^bb0(%hp: tensor<2xf32>, %x: tensor<3xf32>):
    d2l.yield %x : tensor<3xf32>
  }
  return
}

// -----

func.func @scan_results(%h0: tensor<2xf32>, %a: tensor<5x2xf32>) {
  // expected-error @+1 {{'d2l.scan' op result 1 must be 'tensor<5x2xf32>' but is 'tensor<2xf32>'}}
  %h, %ys = d2l.scan (%h0) over (%a) : (tensor<2xf32>, tensor<5x2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  ^bb0(%hp: tensor<2xf32>, %x: tensor<2xf32>):
    d2l.yield %hp, %x : tensor<2xf32>, tensor<2xf32>
  }
  return
}

// -----

func.func @scan_no_sequence(%h0: tensor<2xf32>) {
  // expected-error @+1 {{'d2l.scan' op needs at least one sequence (its leading dimension is the number of steps)}}
  %h = d2l.scan (%h0) over () : (tensor<2xf32>) -> (tensor<2xf32>) {
  ^bb0(%hp: tensor<2xf32>):
    d2l.yield %hp : tensor<2xf32>
  }
  return
}

// -----

func.func @stem_grad_shape(%g: tensor<2x4x3x3xf32>, %x: tensor<2x1x8x8xf32>, %w: tensor<4x1x3x3xf32>, %c: tensor<4xf32>) {
  // expected-error @+1 {{'d2l.conv_bn_relu_pool_backward' op expects grad_output of the pooled type 'tensor<2x4x4x4xf32>' but got 'tensor<2x4x3x3xf32>'}}
  %r:4 = d2l.conv_bn_relu_pool_backward %g, %x, %w, %c, %c, %c, %c {padding = array<i64: 1, 1>, pool_kernel_size = array<i64: 2, 2>, pool_stride = array<i64: 2, 2>} : (tensor<2x4x3x3xf32>, tensor<2x1x8x8xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4x1x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @stem_stats_shape(%g: tensor<2x4x4x4xf32>, %x: tensor<2x1x8x8xf32>, %w: tensor<4x1x3x3xf32>, %c: tensor<4xf32>, %m: tensor<3xf32>) {
  // expected-error @+1 {{'d2l.conv_bn_relu_pool_backward' op expects batch_mean of shape [4] but got 'tensor<3xf32>'}}
  %r:4 = d2l.conv_bn_relu_pool_backward %g, %x, %w, %c, %c, %m, %c {padding = array<i64: 1, 1>, pool_kernel_size = array<i64: 2, 2>, pool_stride = array<i64: 2, 2>} : (tensor<2x4x4x4xf32>, tensor<2x1x8x8xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3xf32>, tensor<4xf32>) -> (tensor<4x1x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}
