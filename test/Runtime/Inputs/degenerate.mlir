func.func @forward(%x: tensor<1x3x6x6xf32> {d2l.input = "X"},
                   %w0: tensor<4x3x3x3xf32> {d2l.param = "c0.weight", d2l.init = "xavier_uniform"},
                   %g0: tensor<4xf32> {d2l.param = "bn0.weight", d2l.init = "ones"},
                   %be0: tensor<4xf32> {d2l.param = "bn0.bias", d2l.init = "zeros"},
                   %m0: tensor<4xf32> {d2l.state = "bn0.running_mean", d2l.init = "zeros"},
                   %v0: tensor<4xf32> {d2l.state = "bn0.running_var", d2l.init = "ones"},
                   %w1: tensor<4x4x3x3xf32> {d2l.param = "c1.weight", d2l.init = "xavier_uniform"},
                   %g1: tensor<4xf32> {d2l.param = "bn1.weight", d2l.init = "ones"},
                   %be1: tensor<4xf32> {d2l.param = "bn1.bias", d2l.init = "zeros"},
                   %m1: tensor<4xf32> {d2l.state = "bn1.running_mean", d2l.init = "zeros"},
                   %v1: tensor<4xf32> {d2l.state = "bn1.running_var", d2l.init = "ones"},
                   %w2: tensor<4x4x3x3xf32> {d2l.param = "c2.weight", d2l.init = "xavier_uniform"},
                   %g2: tensor<4xf32> {d2l.param = "bn2.weight", d2l.init = "ones"},
                   %be2: tensor<4xf32> {d2l.param = "bn2.bias", d2l.init = "zeros"},
                   %m2: tensor<4xf32> {d2l.state = "bn2.running_mean", d2l.init = "zeros"},
                   %v2: tensor<4xf32> {d2l.state = "bn2.running_var", d2l.init = "ones"},
                   %w3: tensor<3x36xf32> {d2l.param = "fc.weight", d2l.init = "xavier_uniform"})
    -> (tensor<1x3xf32> {d2l.output = "logits"}) {
  // BN without a following activation (a max pool reads it).
  %0 = d2l.conv2d %x, %w0 {padding = array<i64: 1, 1>} : (tensor<1x3x6x6xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  %1 = d2l.batch_norm_inference %0, %g0, %be0, %m0, %v0 : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %2 = d2l.max_pool2d %1 {kernel_size = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  // A conv output read twice: by its BN and by the residual add.
  %3 = d2l.conv2d %2, %w1 {padding = array<i64: 1, 1>} : (tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x6x6xf32>
  %4 = d2l.batch_norm_inference %3, %g1, %be1, %m1, %v1 : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %5 = d2l.relu %4 : tensor<1x4x6x6xf32>
  %6 = d2l.add %5, %3 : (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  // ReLU before BN.
  %7 = d2l.conv2d %6, %w2 : (tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32>
  %8 = d2l.relu %7 : tensor<1x4x4x4xf32>
  %9 = d2l.batch_norm_inference %8, %g2, %be2, %m2, %v2 : (tensor<1x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  %10 = d2l.tanh %9 : tensor<1x4x4x4xf32>
  %11 = d2l.avg_pool2d %10 {kernel_size = array<i64: 2, 2>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>} : (tensor<1x4x4x4xf32>) -> tensor<1x4x5x5xf32>
  %12 = d2l.slice %11 {dim = 2 : i64, start = 0 : i64, end = 3 : i64} : (tensor<1x4x5x5xf32>) -> tensor<1x4x3x5xf32>
  %13 = d2l.slice %12 {dim = 3 : i64, start = 0 : i64, end = 3 : i64} : (tensor<1x4x3x5xf32>) -> tensor<1x4x3x3xf32>
  %14 = d2l.flatten %13 : (tensor<1x4x3x3xf32>) -> tensor<1x36xf32>
  %15 = d2l.linear %14, %w3 : (tensor<1x36xf32>, tensor<3x36xf32>) -> tensor<1x3xf32>
  return %15 : tensor<1x3xf32>
}
