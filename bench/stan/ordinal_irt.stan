// The ordinal IRT of aggregation/estimators/irt.py in Stan, for the rstan peer of bench.irt.
//
// The V-Dem measurement model (Pemstein et al. 2015, V-Dem Working Paper 21): expert r rates
// unit u on K categories through an ordered probit with the expert's own thresholds tau_r and
// error SD sigma_r,
//   P(y = k) = Phi((tau_r,k - z_u) / sigma_r) - Phi((tau_r,k-1 - z_u) / sigma_r),
// thresholds shrunk towards their panel's (SD expert_sd) and the panel's towards the overall
// (SD panel_sd). The parameterisation is the NumPyro one, so that both samplers see the same
// posterior in the same coordinates: thresholds anchored at the middle one with log gaps
// outwards; z and log sigma identified by a zero sum (Stan's isometric sum-to-zero transform,
// written out because rstan 2.21 lacks sum_to_zero_vector); each threshold centred or not as
// the data say (panel_centred, expert_centred: 1 = centred).
functions {
  vector sum_to_zero(vector free) {
    int N = rows(free);
    vector[N + 1] x = rep_vector(0, N + 1);
    real sum_w = 0;
    for (ii in 1:N) {
      int i = N - ii + 1;
      real w = free[i] / sqrt(i * (i + 1.0));
      sum_w += w;
      x[i] += sum_w;
      x[i + 1] -= w * i;
    }
    return x;
  }

  vector ordered_middle(row_vector u) {
    int T = cols(u);
    int m = T / 2 + 1;  // integer division
    vector[T] tau;
    tau[m] = u[m];
    for (t in (m + 1):T) tau[t] = tau[t - 1] + exp(u[t]);
    for (tt in 1:(m - 1)) {
      int t = m - tt;
      tau[t] = tau[t + 1] - exp(u[t]);
    }
    return tau;
  }
}
data {
  int<lower=1> N;
  int<lower=2> R;
  int<lower=1> P;
  int<lower=2> U;
  int<lower=3> K;
  int<lower=1, upper=K> y[N];
  int<lower=1, upper=R> expert[N];
  int<lower=1, upper=U> unit[N];
  int<lower=1, upper=P> panel_of_expert[R];
  int<lower=0, upper=1> panel_centred[P, K - 1];
  int<lower=0, upper=1> expert_centred[R, K - 1];
  vector[K - 1] overall_mean;
  real<lower=0> overall_sd;
  real<lower=0> panel_sd;
  real<lower=0> expert_sd;
  real sigma_location;
  real<lower=0> sigma_scale;
}
transformed data {
  int T = K - 1;
}
parameters {
  vector[R - 1] log_sigma_free;
  vector[T] u_all;
  matrix[P, T] u_panel_raw;
  matrix[R, T] u_expert_raw;
  vector[U - 1] z_free;
}
transformed parameters {
  vector[U] z = sum_to_zero(z_free);
  vector[R] sigma = exp(sigma_location + sum_to_zero(log_sigma_free));
  matrix[P, T] u_panel;
  matrix[R, T] u_expert;
  vector[T] tau_expert[R];
  for (p in 1:P)
    for (t in 1:T)
      u_panel[p, t] = panel_centred[p, t] ? u_panel_raw[p, t]
                                          : u_all[t] + panel_sd * u_panel_raw[p, t];
  for (r in 1:R) {
    for (t in 1:T)
      u_expert[r, t] = expert_centred[r, t]
                       ? u_expert_raw[r, t]
                       : u_panel[panel_of_expert[r], t] + expert_sd * u_expert_raw[r, t];
    tau_expert[r] = ordered_middle(u_expert[r]);
  }
}
model {
  vector[T] cuts[R];
  z_free ~ std_normal();
  log_sigma_free ~ normal(0, sigma_scale);
  u_all ~ normal(overall_mean, overall_sd);
  for (p in 1:P)
    for (t in 1:T) {
      if (panel_centred[p, t]) u_panel_raw[p, t] ~ normal(u_all[t], panel_sd);
      else u_panel_raw[p, t] ~ std_normal();
    }
  for (r in 1:R) {
    for (t in 1:T) {
      if (expert_centred[r, t])
        u_expert_raw[r, t] ~ normal(u_panel[panel_of_expert[r], t], expert_sd);
      else u_expert_raw[r, t] ~ std_normal();
    }
    cuts[r] = tau_expert[r] / sigma[r];
  }
  for (n in 1:N)
    y[n] ~ ordered_probit(z[unit[n]] / sigma[expert[n]], cuts[expert[n]]);
}
generated quantities {
  vector[T] tau_all = ordered_middle(u_all');
  vector[T] tau_panel[P];
  for (p in 1:P) tau_panel[p] = ordered_middle(u_panel[p]);
}
